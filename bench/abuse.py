"""How much one abusive anonymous client slows another one down.

Starts nothing itself: give it a running server. A probe (an anonymous client)
reads a page of one product in a loop, and for each pattern its p99 is measured
alone (that pattern's baseline, just before), then beside an abuser running the
pattern in a loop for ``--seconds``: aliased full introspection, availability of 30 x 100
SKUs, aliased sign-ins with wrong passwords, aliased registrations (a password
hash each), deep and fragment-heavy documents, and documents of the largest size
allowed. Each pattern's abuser comes from its own loopback address (127.0.1.N),
so each starts with a fresh per-address budget, and every document it sends ends
with a new comment, so no cache of parsed documents or answers helps it. Prints
one JSON object: the baseline, and per pattern the probe's p99, its ratio to the
baseline (target: at most 3) and what the abuser got back. Each phase's probe
comes from its own address, so that its per-address budget lasts. The abuser runs
in a process of its own; ``--rounds`` repeats every pattern, interleaved, each
round from fresh addresses, and the median ratio of each pattern is reported.

    python bench/abuse.py --url http://127.0.0.1:8000 --seconds 3 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import graphql
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import cpu_seconds, percentile_ms

PROBE = "{ products(first: 1) { edges { node { name } } } }"
TARGET_RATIO = 3.0


def _aliased_introspection(count: int) -> str:
    document = graphql.parse(graphql.get_introspection_query(descriptions=True))
    operation = document.definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    schema_field = operation.selection_set.selections[0]
    assert isinstance(schema_field, graphql.FieldNode)
    field = graphql.print_ast(schema_field)
    fragments = "\n".join(graphql.print_ast(d) for d in document.definitions[1:])
    return "{ " + " ".join(f"s{i}: {field}" for i in range(count)) + " }\n" + fragments


def _availability(aliases: int, skus: int) -> str:
    names = ", ".join(f'"ABUSE-{i}"' for i in range(skus))
    return "{ " + " ".join(f"a{i}: availability(skus: [{names}]) {{ sku available locations"
                           " { available } }" for i in range(aliases)) + " }"


def _sign_ins(aliases: int) -> Callable[[], str]:
    def document() -> str:
        return "mutation { " + " ".join(
            f'a{i}: customerTokenCreate(input: {{email: "{uuid.uuid4().hex}@example.com",'
            f' password: "not-the-password"}}) {{ userErrors {{ code }} }}'
            for i in range(aliases)) + " }"
    return document


def _registrations(aliases: int) -> Callable[[], str]:
    def document() -> str:
        return "mutation { " + " ".join(
            f'a{i}: customerRegister(input: {{email: "{uuid.uuid4().hex}@example.com",'
            f' password: "a long enough password"}}) {{ userErrors {{ code }} }}'
            for i in range(aliases)) + " }"
    return document


def _deep_and_fragments() -> Callable[[], str]:
    # Twelve levels (the limit), a fragment spread under 30 aliases, and a fan-out of fragments
    # (each spreading the next four times) that must be refused without being walked out.
    deep = ("{ products(first: 100) { edges { node { variants { product { variants { product {"
            " variants { product { variants { product { name } } } } } } } } } } } }")
    spread = "{ " + " ".join(f"p{i}: products(first: 5) {{ edges {{ node {{ ...P }} }} }}"
                             for i in range(30)) + " } fragment P on Product { name variants" \
        " { sku name } }"
    fan = "{ ...F0 } " + " ".join(f"fragment F{i} on Query {{ a{i}: channels {{ code }} "
                                  + f"...F{i + 1} " * 4 + "}" for i in range(14)) \
        + " fragment F14 on Query { channels { code } }"
    documents = itertools.cycle([deep, spread, fan])
    return lambda: next(documents)


def _max_size(tokens: int) -> str:
    # { channels { code code ... } }: 6 tokens of frame, one per repeated field
    return "{ channels { " + "code " * (tokens - 6) + "} }"


def patterns(max_tokens: int) -> dict[str, Callable[[], str]]:
    fixed = {"aliased_introspection": _aliased_introspection(30),
             "availability_30x100": _availability(30, 100),
             "max_size_document": _max_size(max_tokens)}
    made: dict[str, Callable[[], str]] = {name: (lambda d=d: d) for name, d in fixed.items()}
    made |= {"aliased_sign_ins": _sign_ins(3), "aliased_registrations": _registrations(3),
             "deep_and_fragments": _deep_and_fragments()}
    return dict(sorted(made.items()))


def _client(url: str, address: str, connections: int) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address,
                                         limits=httpx.Limits(max_connections=connections))
    return httpx.AsyncClient(base_url=url, transport=transport, timeout=60)


async def probe(url: str, seconds: float, address: str) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    async with _client(url, address, 1) as client:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            body = (await client.post("/graphql", json={"query": PROBE})).json()
            if body.get("errors"):
                errors += 1
            latencies.append(time.perf_counter() - started)
    return {"requests": len(latencies), "errors": errors,
            "p50_ms": percentile_ms(latencies, 0.5), "p99_ms": percentile_ms(latencies, 0.99)}


async def abuse(url: str, address: str, document: Callable[[], str], stop: Any,
                concurrency: int, ready: Any = None) -> dict[str, Any]:
    outcomes: Counter[str] = Counter()
    counter = itertools.count()
    async with _client(url, address, concurrency) as client:
        if ready is not None:
            ready.set()

        async def loop() -> None:
            while not stop.is_set():
                query = f"{document()}\n# {next(counter)}"
                try:
                    response = await client.post("/graphql", json={"query": query})
                    body = response.json()
                except (httpx.HTTPError, ValueError) as error:
                    outcomes[type(error).__name__] += 1
                    continue
                errors = body.get("errors") or []
                outcomes[errors[0].get("extensions", {}).get("code", "ERROR") if errors
                         else "OK"] += 1

        await asyncio.gather(*(loop() for _ in range(concurrency)))
    return {"requests": sum(outcomes.values()), "outcomes": dict(outcomes)}


def _abuser_process(url: str, address: str, pattern: str, max_tokens: int, stop: Any,
                    ready: Any, concurrency: int, results: Any) -> None:
    # In a process of its own: the abuser's own client work (building, encoding and sending
    # its documents, reading the answers) is not counted in the probe's latency, as it would
    # be if both shared one event loop. It still shares the machine's cores with the server.
    document = patterns(max_tokens)[pattern]
    results.put(asyncio.run(abuse(url, address, document, stop, concurrency, ready)))


async def one_pattern(args: argparse.Namespace, name: str, round_: int, n: int
                      ) -> dict[str, Any]:
    """The probe alone (the baseline), then beside the abuser; fresh addresses each time,
    so every abuser starts with a full budget, as a new client would."""
    net = f"127.{10 + round_}"
    cpu_before = cpu_seconds(args.pid)
    baseline = await probe(args.url, args.seconds, f"{net}.0.{2 * n}")
    cpu_baseline = cpu_seconds(args.pid) - cpu_before
    context = multiprocessing.get_context("spawn")
    stop, ready, answers = context.Event(), context.Event(), context.Queue()
    abuser = context.Process(target=_abuser_process, args=(
        args.url, f"{net}.1.{n}", name, args.max_tokens, stop, ready, args.concurrency,
        answers))
    abuser.start()
    await asyncio.to_thread(ready.wait)  # measured from the abuser's first request on
    cpu_before = cpu_seconds(args.pid)
    measured = await probe(args.url, args.seconds, f"{net}.0.{2 * n + 1}")
    cpu_abused = cpu_seconds(args.pid) - cpu_before
    stop.set()
    abused = await asyncio.to_thread(answers.get)
    abuser.join()
    ratio = (round(measured["p99_ms"] / baseline["p99_ms"], 2)
             if measured["p99_ms"] and baseline["p99_ms"] else None)
    answer = {"baseline_p99_ms": baseline["p99_ms"], "probe": measured, "p99_ratio": ratio,
              "abuser": abused}
    if args.pid:  # the server's CPU a second, with its checking process: what the abuser adds
        answer["server_cpu_per_second"] = {"baseline": round(cpu_baseline / args.seconds, 3),
                                           "abused": round(cpu_abused / args.seconds, 3)}
    return answer


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=args.url, timeout=30) as warm:
        (await warm.post("/graphql", json={"query": PROBE})).raise_for_status()
    names = [name for name in patterns(args.max_tokens)
             if not args.pattern or name in args.pattern]
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for round_ in range(args.rounds):  # interleaved: each round runs every pattern once
        for n, name in enumerate(names, start=1):
            rounds[name].append(await one_pattern(args, name, round_, n))
    results: dict[str, Any] = {}
    for name, runs in rounds.items():
        ratios = [r["p99_ratio"] for r in runs if r["p99_ratio"] is not None]
        results[name] = {"median_p99_ratio": statistics.median(ratios) if ratios else None,
                         "p99_ratios": ratios, "runs": runs}
    medians = [r["median_p99_ratio"] for r in results.values()
               if r["median_p99_ratio"] is not None]
    return {"url": args.url, "seconds_per_pattern": args.seconds, "rounds": args.rounds,
            "abuser_concurrency": args.concurrency, "patterns": results,
            "worst_median_p99_ratio": max(medians, default=None),
            "target_p99_ratio": TARGET_RATIO,
            "within_target": all(r <= TARGET_RATIO for r in medians)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds, each running every pattern once after its baseline")
    parser.add_argument("--seconds", type=float, default=5.0, help="per pattern, and baseline")
    parser.add_argument("--concurrency", type=int, default=4, help="abuser's requests in flight")
    parser.add_argument("--pid", type=int, action="append", default=[],
                        help="the server's process (repeatable): report its CPU per second")
    parser.add_argument("--pattern", action="append", choices=sorted(patterns(10)),
                        help="run only this pattern (repeatable); all of them by default")
    parser.add_argument("--max-tokens", type=int, default=5000,
                        help="the server's OMS_MAX_TOKENS: the largest document it takes")
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
