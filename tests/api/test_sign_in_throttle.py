"""Sign-in is slowed per account and per address by growing delays, never locked: the real
owner signing in from an address that has not been guessing always gets in."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from ipaddress import ip_network
from typing import Any

import pytest

from domain.customers.throttle import Backoff, SignInThrottle
from integrations.throttle.memory import InMemoryFailureLog
from tests.api.test_customers_and_guests import SIGN_IN, _register
from tests.support import GraphQLClient

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: Any, api: GraphQLClient) -> Iterator[Clock]:
    """The app's throttle, on a clock the test moves; proxies at 127.0.0.1 trusted, so a
    test can sign in "from" several addresses with X-Forwarded-For."""
    services = app.state.services
    clock = Clock()
    services.login_throttle = SignInThrottle(InMemoryFailureLog(), Backoff(cap=8.0),
                                             clock=clock)
    services.trusted_proxies = (ip_network("127.0.0.1/32"),)
    yield clock
    services.trusted_proxies = ()


async def sign_in(api: GraphQLClient, email: str, password: str, address: str
                  ) -> str | int:
    """"OK", the userError's code, or the seconds RATE_LIMITED says to wait."""
    body = (await api.raw(SIGN_IN, {"input": {"email": email, "password": password}},
                          admin=False, headers={"X-Forwarded-For": address})).json()
    if body.get("errors"):
        extensions = body["errors"][0]["extensions"]
        assert extensions["code"] == "RATE_LIMITED", body
        return int(extensions["retryAfter"])
    errors = body["data"]["customerTokenCreate"]["userErrors"]
    return errors[0]["code"] if errors else "OK"


async def test_after_five_failures_each_attempt_waits_a_doubling_delay_up_to_a_cap(
    api: GraphQLClient, clock: Clock,
) -> None:
    await _register(api, "eve@example.com")
    guesser = "203.0.113.9"
    for _ in range(5):
        assert await sign_in(api, "eve@example.com", "guess", guesser) == "INVALID_CREDENTIALS"
    waits = []
    for _ in range(5):
        wait = await sign_in(api, "eve@example.com", "guess", guesser)
        assert isinstance(wait, int)
        waits.append(wait)
        clock.now += wait - 0.5
        assert await sign_in(api, "eve@example.com", "guess", guesser) == 1  # not yet
        clock.now += 0.5
        assert await sign_in(api, "eve@example.com", "guess", guesser) == "INVALID_CREDENTIALS"
    assert waits == [1, 2, 4, 8, 8]
    # The right password does not skip the wait either: the guesser cannot tell it worked.
    assert await sign_in(api, "eve@example.com", PASSWORD, guesser) == 8


async def test_refused_attempts_check_nothing_and_count_nothing(
    api: GraphQLClient, clock: Clock,
) -> None:
    await _register(api, "eve@example.com")
    for _ in range(5):
        await sign_in(api, "eve@example.com", "guess", "203.0.113.9")
    for _ in range(20):
        assert await sign_in(api, "eve@example.com", "guess", "203.0.113.9") == 1
    clock.now += 1
    assert await sign_in(api, "eve@example.com", PASSWORD, "203.0.113.9") == "OK"


async def test_the_owner_signs_in_from_their_own_address_while_someone_guesses(
    api: GraphQLClient, clock: Clock,
) -> None:
    await _register(api, "ann@example.com")
    for _ in range(12):  # guessing from one address, then another: the account is slowed
        await sign_in(api, "ann@example.com", "guess", "203.0.113.9")
        clock.now += 30
    for _ in range(6):
        await sign_in(api, "ann@example.com", "guess", "198.51.100.20")
    assert isinstance(await sign_in(api, "ann@example.com", PASSWORD, "198.51.100.20"), int)
    # Ann, at home, has not been failing: her right password works at once.
    assert await sign_in(api, "ann@example.com", PASSWORD, "192.0.2.44") == "OK"


async def test_a_fresh_address_gets_one_guess_while_the_account_is_slowed(
    api: GraphQLClient, clock: Clock,
) -> None:
    await _register(api, "ann@example.com")
    for _ in range(6):
        await sign_in(api, "ann@example.com", "guess", "203.0.113.9")
    assert await sign_in(api, "ann@example.com", "guess", "192.0.2.1") == "INVALID_CREDENTIALS"
    assert isinstance(await sign_in(api, "ann@example.com", PASSWORD, "192.0.2.1"), int)


async def test_one_address_guessing_many_accounts_is_slowed(api: GraphQLClient,
                                                            clock: Clock) -> None:
    for n in range(5):
        assert await sign_in(api, f"user{n}@example.com", "guess",
                             "203.0.113.9") == "INVALID_CREDENTIALS"
    assert await sign_in(api, "user9@example.com", "guess", "203.0.113.9") == 1
    assert await sign_in(api, "user9@example.com", "guess",
                         "192.0.2.1") == "INVALID_CREDENTIALS"


async def test_a_success_forgets_the_failures(api: GraphQLClient, clock: Clock) -> None:
    await _register(api, "bob@example.com")
    for _ in range(4):
        await sign_in(api, "bob@example.com", "typo", "192.0.2.1")
    assert await sign_in(api, "bob@example.com", PASSWORD, "192.0.2.1") == "OK"
    for _ in range(4):
        assert await sign_in(api, "bob@example.com", "typo", "192.0.2.1") == "INVALID_CREDENTIALS"
    assert await sign_in(api, "bob@example.com", PASSWORD, "192.0.2.1") == "OK"


async def test_attempts_sent_at_once_get_five_tries_in_all(api: GraphQLClient,
                                                           clock: Clock) -> None:
    await _register(api, "eve@example.com")
    outcomes = await asyncio.gather(*(sign_in(api, "eve@example.com", "guess", "203.0.113.9")
                                      for _ in range(15)))
    assert sorted(map(str, outcomes)) == ["1"] * 10 + ["INVALID_CREDENTIALS"] * 5


async def test_failures_are_forgotten_after_a_quarter_hour(api: GraphQLClient,
                                                           clock: Clock) -> None:
    await _register(api, "bob@example.com")
    for _ in range(5):
        await sign_in(api, "bob@example.com", "typo", "192.0.2.1")
    assert await sign_in(api, "bob@example.com", "typo", "192.0.2.1") == 1
    clock.now += 901
    for _ in range(5):
        assert await sign_in(api, "bob@example.com", "typo", "192.0.2.1") == "INVALID_CREDENTIALS"
