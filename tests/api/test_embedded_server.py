"""`oms serve` in the embedded default: what it writes is private, and it believes no
forwarded header from a client (not even one on 127.0.0.1)."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import Server, oms_server


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    var = tmp_path_factory.mktemp("embedded") / "var"  # made by the server
    with oms_server(database_url=f"sqlite://{var / 'oms.sqlite3'}", redis_url=None,
                    env={"OMS_VAR_DIR": str(var), "OMS_ADMIN_TOKEN": ""}) as server:
        yield server, var


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_its_journal_and_the_generated_secrets_are_private(
    embedded: tuple[Server, Path],
) -> None:
    server, var = embedded
    query = {"query": 'mutation { customerRegister(input: {email: "a@example.com", '
                      'password: "long enough pw"}) { userErrors { code } } }'}
    httpx.post(f"{server.url}/graphql", json=query, timeout=10).raise_for_status()
    assert _mode(var) == 0o700
    # The signing keys live in the database file (table signing_key), private with it.
    files = ["oms.sqlite3", "oms.sqlite3-wal", "oms.sqlite3-shm", "admin-token"]
    assert {name: oct(_mode(var / name)) for name in files} == dict.fromkeys(files, "0o600")


def test_forwarded_headers_from_a_client_on_loopback_are_not_believed(
    embedded: tuple[Server, Path],
) -> None:
    server, _ = embedded
    sign_in = """mutation($e: String!) { customerTokenCreate(input: {email: $e,
      password: "guess"}) { userErrors { code } } }"""
    for n in range(6):
        body = httpx.post(f"{server.url}/graphql", timeout=10,
                          json={"query": sign_in, "variables": {"e": f"u{n}@example.com"}},
                          headers={"X-Forwarded-For": f"198.51.100.{n}"}).json()
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
