"""Which address a caller is throttled and budgeted by: forwarded headers are believed
only from OMS_TRUSTED_PROXIES, and then the right-most address that is not a proxy."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import ip_network
from typing import Any

import pytest

from api.addresses import client_address
from api.graphql.cost import Limits
from api.settings import ConfigurationError, Settings
from tests.api.test_cost_and_rate_limits import PAGE
from tests.support import GraphQLClient

PROXIES = (ip_network("10.0.0.0/8"), ip_network("2001:db8::/32"))


@pytest.mark.parametrize(("peer", "headers", "expected"), [
    ("203.0.113.9", {"x-forwarded-for": "1.2.3.4"}, "203.0.113.9"),  # not a proxy: ignored
    ("203.0.113.9", {"forwarded": "for=1.2.3.4"}, "203.0.113.9"),
    ("10.0.0.2", {}, "10.0.0.2"),
    ("10.0.0.2", {"x-forwarded-for": "198.51.100.7"}, "198.51.100.7"),
    # What the client wrote itself (left) is not believed; our proxies (right) are skipped.
    ("10.0.0.2", {"x-forwarded-for": "6.6.6.6, 198.51.100.7, 10.1.2.3"}, "198.51.100.7"),
    ("10.0.0.2", {"forwarded": 'for=6.6.6.6, for="[2001:db8::5]:4711";proto=https, '
                               'for=198.51.100.7:1234'}, "198.51.100.7"),
    ("10.0.0.2", {"forwarded": 'for="[2001:db8:cafe::17]:4711"'}, "10.0.0.2"),
    ("10.0.0.2", {"forwarded": 'for="[2a00:1450::1]:443"'}, "2a00:1450::1"),
    ("10.0.0.2", {"x-forwarded-for": "10.0.0.9, 10.0.0.8"}, "10.0.0.2"),
    ("10.0.0.2", {"x-forwarded-for": "198.51.100.7, garbage"}, "unknown"),
    ("2001:db8::9", {"x-forwarded-for": "198.51.100.7"}, "198.51.100.7"),
    (None, {"x-forwarded-for": "198.51.100.7"}, "unknown"),
])
def test_the_client_address(peer: str | None, headers: dict[str, str], expected: str) -> None:
    assert client_address(peer, headers, PROXIES) == expected


def test_trusted_proxies_are_addresses_or_blocks() -> None:
    settings = Settings.from_env({"OMS_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1"})
    assert settings.trusted_proxies == (ip_network("10.0.0.0/8"), ip_network("192.0.2.1/32"))
    assert Settings.from_env({}).trusted_proxies == ()
    with pytest.raises(ConfigurationError, match="OMS_TRUSTED_PROXIES"):
        Settings.from_env({"OMS_TRUSTED_PROXIES": "10.0.0.0/8, proxy.example.com"})


SIGN_IN = """mutation($e: String!) { customerTokenCreate(input: {email: $e, password: "guess"})
  { userErrors { code } } }"""


async def test_a_client_cannot_escape_the_throttle_by_forging_forwarded_headers(
    api: GraphQLClient,
) -> None:
    """No proxy is trusted by default, so X-Forwarded-For from the caller means nothing."""
    for n in range(5):
        await api.raw(SIGN_IN, {"e": f"user{n}@example.com"}, admin=False,
                      headers={"X-Forwarded-For": f"198.51.100.{n}", "Forwarded": f"for=192.0.2.{n}"})
    body = (await api.raw(SIGN_IN, {"e": "user9@example.com"}, admin=False,
                          headers={"X-Forwarded-For": "198.51.100.99"})).json()
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


@pytest.fixture
def behind_a_proxy(app: Any) -> Iterator[None]:
    services = app.state.services
    services.trusted_proxies = (ip_network("127.0.0.1/32"),)
    yield
    services.trusted_proxies = ()


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(
    api: GraphQLClient, limits: Limits, behind_a_proxy: None,
) -> None:
    def page(address: str) -> Any:
        return api.raw(PAGE, admin=False, headers={"X-Forwarded-For": f"6.6.6.6, {address}"})

    outcomes = []
    for address in ("198.51.100.1",) * 4 + ("198.51.100.2",):
        body = (await page(address)).json()
        outcomes.append(body["errors"][0]["extensions"]["code"] if body.get("errors") else "OK")
    assert outcomes == ["OK", "OK", "OK", "RATE_LIMITED", "OK"]


