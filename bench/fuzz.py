"""A long fuzz run: N documents drawn from the schema, sent to a running server.

Starts nothing itself. Reads the schema from schema.graphql beside it, the server's rows
(channels, locations, products, orders, customers) as the admin, then sends each
document as the admin or anonymously, and prints one JSON object: the count of
answers by outcome ('ok', 'error:<codes>', 'crash'), documents per second, and the
first crashes with their documents. Exits 1 when anything crashed.

    python bench/fuzz.py --url http://127.0.0.1:8000 --token $OMS_ADMIN_TOKEN \
        --documents 5000 [--seed 1] [--negative 0.1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import graphql
import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzzing import HARVEST, documents, first_crash, harvest, outcome

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="the admin token")
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--negative", type=float, default=0.1,
                        help="share of documents with one schema violation")
    parser.add_argument("--show", type=int, default=10, help="crashes to print in full")
    args = parser.parse_args()

    admin = {"Authorization": f"Bearer {args.token}"}
    client = httpx.Client(base_url=args.url, timeout=60)

    def post(query: str, as_admin: bool) -> tuple[int, Any]:
        response = client.post("/graphql", json={"query": query},
                               headers=admin if as_admin else {})
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text

    schema = graphql.build_schema((ROOT / "schema.graphql").read_text())
    status, body = post(HARVEST, True)
    if status != 200 or body.get("errors"):
        raise SystemExit(f"reading the rows failed: {status} {body}")
    pool = harvest(body["data"])
    positive_documents = documents(schema, pool)
    negative_documents = documents(schema, pool, negative=True)

    counts: Counter[str] = Counter()
    crashes: list[dict[str, Any]] = []
    seen: set[str] = set()

    @seed(args.seed)
    @settings(max_examples=args.documents, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def send(data: st.DataObject) -> None:
        negative = data.draw(st.integers(0, 99)) < args.negative * 100
        as_admin = data.draw(st.integers(0, 2)) != 0  # one document in three is anonymous
        document = data.draw(negative_documents if negative else positive_documents)
        status, body = post(document, as_admin)
        kind = outcome(status, body)
        counts[kind] += 1
        if kind == "crash":
            message = first_crash(body) or f"HTTP {status}"
            key = message.split(":", 1)[-1][:80]
            if key not in seen and len(crashes) < args.show:
                seen.add(key)
                crashes.append({"status": status, "admin": as_admin, "error": message[:1000],
                                "document": document[:3000]})

    started = time.perf_counter()
    send()
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    print(json.dumps({
        "documents": total,
        "documents_per_second": round(total / elapsed, 1) if elapsed else None,
        "outcomes": dict(counts.most_common()),
        "crashes": counts["crash"],
        "first_crashes": crashes,
    }, indent=2))
    sys.exit(1 if counts["crash"] else 0)


if __name__ == "__main__":
    main()
