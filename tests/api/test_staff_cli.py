"""``oms staff create`` bootstraps the first owner, and a staff session ended on one server
is refused by another at once (they share the database, not memory)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.api.test_cli import OMS, _env, _free_port, _serving

SIGN_IN = """mutation { staffSignIn(input: {email: "olga@shop.test",
  password: "the owner's long password"}) { token userErrors { code } } }"""


def _create(env: dict[str, str], *extra: str, password: str = "the owner's long password"
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OMS, "staff", "create", "--email", "Olga@Shop.test",
                           "--name", "Olga", *extra], env=env, input=password + "\n",
                          capture_output=True, text=True, timeout=120)


def _post(port: int, query: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query},
                      headers=headers, timeout=30)


def _data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_the_first_owner_is_created_once_unless_forced_and_signs_in(tmp_path: Path) -> None:
    env = _env(tmp_path, OMS_DATABASE_URL=f"sqlite://{tmp_path / 'shop.sqlite3'}",
               OMS_ADMIN_TOKEN="cli-test-admin-token")
    first = _create(env)
    assert first.returncode == 0, first.stderr
    assert "Created owner olga@shop.test" in first.stdout
    again = subprocess.run([*OMS, "staff", "create", "--email", "second@shop.test"], env=env,
                           input="another long password\n", capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 2
    assert "An owner exists already; use --force" in again.stderr
    short = subprocess.run([*OMS, "staff", "create", "--email", "s@shop.test", "--force"],
                           env=env, input="short\n", capture_output=True, text=True, timeout=120)
    assert short.returncode == 2 and "A password has 12 to 200 characters" in short.stderr
    forced = subprocess.run([*OMS, "staff", "create", "--email", "second@shop.test", "--force"],
                            env=env, input="another long password\n", capture_output=True,
                            text=True, timeout=120)
    assert forced.returncode == 0, forced.stderr

    ports = [_free_port(), _free_port()]
    servers = []
    try:
        for port in ports:  # one after the other: the first migrates and seeds
            servers.append(subprocess.Popen([*OMS, "serve", "--port", str(port)], cwd=tmp_path,
                                            env=env, text=True, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL))
            assert _serving(servers[-1], port)
        one, two = ports
        signed = _data(_post(one, SIGN_IN))["staffSignIn"]
        assert signed["userErrors"] == [], signed
        token = signed["token"]
        me = _data(_post(two, "{ staffMe { email role { code } } }", token))["staffMe"]
        assert me == {"email": "olga@shop.test", "role": {"code": "owner"}}
        out = _data(_post(two, "mutation { staffSignOut { signedOut } }", token))
        assert out["staffSignOut"]["signedOut"] is True
        refused = _post(one, "{ staffMe { email } }", token)
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
