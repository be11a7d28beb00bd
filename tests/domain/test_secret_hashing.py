"""Password hashing runs off the event loop, a few at a time, at the deployment's cost."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from argon2 import extract_parameters

from api.settings import ConfigurationError, Settings
from domain import secrets
from domain.secrets import HashCost, SecretHasher, hash_secret, secret_matches


@pytest.fixture
def product_cost(settings: Settings) -> Iterator[None]:
    """Hashes at the product's default cost; the tests' own cheap cost again afterwards."""
    secrets.configure(HashCost())
    yield
    secrets.configure(settings.password_hash)


async def test_the_event_loop_keeps_turning_while_a_password_is_hashed(product_cost: None) -> None:
    hasher = SecretHasher(1)
    hashing = asyncio.create_task(hasher.hash("correct horse battery"))
    turns = 0
    while not hashing.done():
        await asyncio.sleep(0)
        turns += 1
    assert turns > 10  # argon2 takes tens of milliseconds; the loop ran all along
    assert secret_matches("correct horse battery", hashing.result())
    assert await hasher.matches("correct horse battery", hashing.result())
    assert not await hasher.matches("wrong horse battery", hashing.result())


async def test_no_more_than_the_concurrency_hash_at_once() -> None:
    hasher = SecretHasher(2)
    entered = threading.Semaphore(0)
    release = threading.Event()

    def work() -> int:
        entered.release()
        release.wait(10)
        return 1

    tasks = [asyncio.create_task(hasher.run(work)) for _ in range(4)]
    for _ in range(2):
        assert await asyncio.to_thread(entered.acquire, timeout=10)
    assert not await asyncio.to_thread(entered.acquire, timeout=0.3)  # the other two wait
    release.set()
    assert sum(await asyncio.gather(*tasks)) == 4


def test_hashes_are_made_at_the_configured_cost_and_older_ones_still_verify(
        product_cost: None) -> None:
    default = hash_secret("correct horse battery")
    parameters = extract_parameters(default)
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (65536, 3, 4)
    secrets.configure(Settings.from_env({"OMS_PASSWORD_HASH": "m=1024,t=2,p=1"}).password_hash)
    cheaper = hash_secret("correct horse battery")
    parameters = extract_parameters(cheaper)
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (1024, 2, 1)
    assert secret_matches("correct horse battery", default)  # made before the change
    assert secret_matches("correct horse battery", cheaper)


async def test_an_unknown_account_costs_the_work_of_checking_a_password(
        product_cost: None) -> None:
    hasher = SecretHasher(1)
    hashed = await hasher.hash("correct horse battery")
    await hasher.matches_nothing("warm up")  # its hash of nothing is made once
    started = time.process_time()
    await hasher.matches("correct horse battery", hashed)
    known = time.process_time() - started
    started = time.process_time()
    await hasher.matches_nothing("correct horse battery")
    unknown = time.process_time() - started
    assert unknown > known / 3  # both are an argon2 verify at the same cost, not a lookup


@pytest.mark.parametrize("raw", ["m=4,t=1,p=1", "t=0", "p=0", "m=65536,x=1", "m=lots", "64MiB"])
def test_a_cost_argon2_cannot_use_is_refused_at_start_up(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="OMS_PASSWORD_HASH"):
        Settings.from_env({"OMS_PASSWORD_HASH": raw})


def test_the_default_cost_is_argon2s_and_parts_left_out_keep_theirs() -> None:
    assert Settings.from_env({}).password_hash == HashCost(65536, 3, 4)
    assert Settings.from_env({"OMS_PASSWORD_HASH": "m=19456, t=2"}).password_hash == \
        HashCost(19456, 2, 4)
