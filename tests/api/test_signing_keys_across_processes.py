"""Two `oms serve --workers 2` processes on one PostgreSQL database, each with a var folder
of its own (as two hosts have): a token from one is accepted by every worker of both, and
so is a token from a key that `oms keys rotate` added while they run."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import DATABASE_URL, REDIS_URL
from tests.servers import Server, oms_server
from tests.support import ADMIN

pytestmark = pytest.mark.skipif(
    DATABASE_URL is None, reason="needs PostgreSQL: runs in the OMS_TEST_DATABASE_URL leg of .ci/run",
)

USES = 200
ORDERS = {"query": "{ orders(first: 1) { edges { cursor } } }"}
CREATE_CLIENT = """mutation { oauthClientCreate(input: {name: "ERP", scopes: ["orders:read"]})
  { client { clientId } clientSecret userErrors { code } } }"""


@pytest.fixture(scope="module")
def two_hosts() -> Iterator[tuple[Server, Server]]:
    assert DATABASE_URL is not None
    # The first picks rotations up within a second by itself; the second only learns of the
    # new key from the tokens that name it.
    with (oms_server(database_url=DATABASE_URL, redis_url=REDIS_URL, args=("--workers", "2"),
                     env={"OMS_KEY_REFRESH_INTERVAL": "1"}) as a,
          oms_server(database_url=DATABASE_URL, redis_url=REDIS_URL,
                     args=("--workers", "2")) as b):
        yield a, b


def _partner_token(server: Server) -> str:
    created = httpx.post(f"{server.url}/graphql", headers=ADMIN, timeout=20,
                         json={"query": CREATE_CLIENT}).json()["data"]["oauthClientCreate"]
    answer = httpx.post(f"{server.url}/oauth/token", timeout=20,
                        data={"grant_type": "client_credentials"},
                        auth=(created["client"]["clientId"], created["clientSecret"]))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _refused(token: str, servers: tuple[Server, Server]) -> int:
    """Uses of the token spread over both servers, each on a new connection so that the
    workers of a server share them; the number refused."""
    refused = 0
    for use in range(USES):
        server = servers[use % 2]
        response = httpx.post(f"{server.url}/graphql", json=ORDERS, timeout=20,
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code in (200, 401), response.text
        refused += response.status_code == 401
    return refused


def _kids(server: Server) -> list[str]:
    return [k["kid"] for k in httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"]]


def _kid_of(token: str) -> str:
    return str(json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"])


def test_every_worker_of_every_host_accepts_tokens_before_and_after_a_rotation(
    db: None, two_hosts: tuple[Server, Server],
) -> None:
    a = two_hosts[0]
    before = _partner_token(a)
    refused_before = _refused(before, two_hosts)

    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    rotated = subprocess.run([sys.executable, "-m", "api", "keys", "rotate"], timeout=60,
                             env={**env, "OMS_DATABASE_URL": str(DATABASE_URL)},
                             capture_output=True, text=True, check=True)
    new_kid = rotated.stdout.split()[3].rstrip(":")
    deadline = time.monotonic() + 30
    after = _partner_token(a)
    while _kid_of(after) != new_kid:  # every worker of the first host signs with it soon
        assert time.monotonic() < deadline, "the rotated key never signed"
        after = _partner_token(a)
    refused_after = _refused(after, two_hosts)
    refused_old = _refused(before, two_hosts)

    print(f"\nrefused: {refused_before}/{USES} before the rotation, {refused_after}/{USES} "
          f"with the new key, {refused_old}/{USES} with the old key after it")
    assert (refused_before, refused_after, refused_old) == (0, 0, 0)
    assert _kids(a)[:1] == [new_kid] and _kid_of(before) in _kids(a)
