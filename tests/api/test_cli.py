"""The ``oms`` command as a newcomer meets it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import migrated_sqlite

OMS = [sys.executable, "-m", "api"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    return {**env, "OMS_VAR_DIR": str(tmp_path / "var"), **extra}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_more_than_one_worker_on_sqlite_is_refused_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run([*OMS, "serve", "--workers", "2"], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "oms: error: --workers above 1 needs PostgreSQL: SQLite cannot take concurrent "
        "writers (set OMS_DATABASE_URL=postgres://...)"
    ]


def test_an_unreachable_database_stops_start_up_with_one_line(tmp_path: Path) -> None:
    env = _env(tmp_path, OMS_DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere")
    done = subprocess.run([*OMS, "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("oms: error: Cannot reach the database")


def test_a_bad_setting_stops_start_up_with_one_line(tmp_path: Path) -> None:
    env = _env(tmp_path, OMS_DATABASE_URL="mysql://localhost/db")
    done = subprocess.run([*OMS, "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("oms: error: OMS_DATABASE_URL must start with")


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("OMS_DATABASE_URL", "postgres://::nope", "OMS_DATABASE_URL has a bad port"),
    ("OMS_DATABASE_URL", "postgres://db.example.com:99999/oms", "OMS_DATABASE_URL has a bad port"),
    ("OMS_DATABASE_URL", "postgres://db.example.com", "OMS_DATABASE_URL must look like"),
    ("OMS_DATABASE_URL", "mysql://x", "OMS_DATABASE_URL must start with"),
    ("OMS_DATABASE_URL", "sqlite://", "OMS_DATABASE_URL needs a file"),
    ("OMS_DATABASE_URL", "sqlite:///proc/no-such-folder/oms.sqlite3",
     "OMS_DATABASE_URL: cannot create the folder /proc/no-such-folder"),
    ("OMS_VAR_DIR", "/proc/no-such-folder", "OMS_VAR_DIR: cannot create the folder"),
    ("OMS_ALLOWED_ORIGINS", "not a url", "OMS_ALLOWED_ORIGINS takes"),
    ("OMS_ALLOWED_ORIGINS", "http://", "OMS_ALLOWED_ORIGINS takes"),
    ("OMS_ALLOWED_ORIGINS", "https://shop.example.com,https://x.example.com/app",
     "OMS_ALLOWED_ORIGINS takes"),
    ("OMS_PORT", "abc", "OMS_PORT must be a port number from 1 to 65535, got 'abc'"),
    ("OMS_PORT", "0", "OMS_PORT must be a port number"),
    ("OMS_PORT", "70000", "OMS_PORT must be a port number"),
    ("OMS_HOST", "not a host", "OMS_HOST must be an IP address or a host name"),
    ("OMS_KEY_REFRESH_INTERVAL", "0", "OMS_KEY_REFRESH_INTERVAL must be at least 1 second"),
])
def test_every_bad_setting_is_one_line_naming_it_and_exit_code_2(
    tmp_path: Path, variable: str, value: str, says: str,
) -> None:
    done = subprocess.run([*OMS, "serve"], env=_env(tmp_path, **{variable: value}),
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (2, "")
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"oms: error: {says}"), done.stderr


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_a_bad_port_flag_is_one_line_and_exit_code_2(tmp_path: Path, port: str) -> None:
    done = subprocess.run([*OMS, "serve", "--port", port], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"oms: error: --port must be a port number from 1 to 65535, got {port!r}"]


def _serving(server: subprocess.Popen[str], port: int) -> bool:
    deadline = time.monotonic() + 60
    while server.poll() is None and time.monotonic() < deadline:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            time.sleep(0.2)
    return False


@pytest.mark.parametrize("flag", [False, True])
def test_serve_listens_where_oms_host_and_oms_port_say_unless_flags_say_otherwise(
    tmp_path: Path, flag: bool,
) -> None:
    setting, flagged = _free_port(), _free_port()
    args = ["--port", str(flagged), "--host", "127.0.0.1"] if flag else []
    migrated_sqlite(tmp_path / "var" / "oms.sqlite3")  # where the embedded default looks
    server = subprocess.Popen([*OMS, "serve", *args], cwd=tmp_path, text=True,
                              env=_env(tmp_path, OMS_HOST="localhost", OMS_PORT=str(setting)),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert _serving(server, flagged if flag else setting)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    host, port = ("127.0.0.1", flagged) if flag else ("localhost", setting)
    assert f"GraphiQL: http://{host}:{port}/graphql" in output


def test_processes_starting_together_on_an_empty_database_create_one_signing_key(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path, OMS_DATABASE_URL=f"sqlite://{tmp_path / 'shared.sqlite3'}")
    runs = [subprocess.Popen([*OMS, "keys", "list"], env={**env, "OMS_VAR_DIR": str(tmp_path / f"v{i}")},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(4)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0]
    assert len({line.split()[0] for out in outputs for line in out.splitlines()}) == 1
    rotated = subprocess.run([*OMS, "keys", "rotate"], env=env, capture_output=True, text=True,
                             timeout=60, check=True)
    assert rotated.stdout.startswith("New signing key ")
    listed = subprocess.run([*OMS, "keys", "list"], env=env, capture_output=True, text=True,
                            timeout=60, check=True).stdout.splitlines()
    assert [line.split()[-1] for line in listed] == ["signs", "verifies"]
    assert listed[0].split()[0] == rotated.stdout.split()[3].rstrip(":")


def test_a_key_the_embedded_default_kept_in_its_var_folder_carries_over(tmp_path: Path) -> None:
    """Guests' order links and storefront keys signed before keys moved into the database
    keep working."""
    from api.signing_keys import new_key

    kept = new_key()
    migrated_sqlite(tmp_path / "var" / "oms.sqlite3")  # a database without keys
    (tmp_path / "var" / "jwt-keys.json").write_text(json.dumps({"keys": [kept]}))
    listed = subprocess.run([*OMS, "keys", "list"], env=_env(tmp_path), capture_output=True,
                            text=True, timeout=60, check=True).stdout.splitlines()
    assert [line.split()[0] for line in listed] == [kept["kid"]]


def test_keys_rotate_refuses_keys_the_operator_set(tmp_path: Path) -> None:
    from api.signing_keys import new_key

    env = _env(tmp_path, OMS_JWT_KEYS=json.dumps({"keys": [new_key()]}))
    done = subprocess.run([*OMS, "keys", "rotate"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("oms: error: OMS_JWT_KEYS is set: rotate by putting")


def test_export_schema_prints_the_committed_sdl(tmp_path: Path) -> None:
    done = subprocess.run([*OMS, "export-schema"], env=_env(tmp_path), capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout == (Path(__file__).resolve().parents[2] / "schema.graphql").read_text()


def test_serve_starts_with_demo_data_and_a_printed_admin_token(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen([*OMS, "serve", "--port", str(port)], env=_env(tmp_path),
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180  # it migrates a new database first
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()  # its output ends only when it does
                pytest.fail(f"server did not start: {server.communicate(timeout=30)[0]}")
            time.sleep(0.2)
        token = (tmp_path / "var" / "admin-token").read_text().strip()
        query = {"query": '{ channels { code } availability(skus: ["BOTTLE-750"], channel: "web")'
                          " { available } }"}
        data = httpx.post(f"{base}/graphql", json=query, timeout=10).json()["data"]
        assert data == {"channels": [{"code": "app"}, {"code": "web"}],
                        "availability": [{"available": 160}]}
        mutation = {"query": 'mutation { inventoryAdjust(input: {sku: "BOTTLE-750", '
                             'location: "berlin-wh", delta: 5, reason: "delivery"}) '
                             "{ stockLevel { onHand } userErrors { code } } }"}
        answer = httpx.post(f"{base}/graphql", json=mutation, timeout=10,
                            headers={"Authorization": f"Bearer {token}"}).json()
        assert answer["data"]["inventoryAdjust"] == {"stockLevel": {"onHand": 105},
                                                     "userErrors": []}
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert f"Created the admin token stored in {tmp_path / 'var' / 'admin-token'}" in output
    assert f"Authorization: Bearer {token}" in output


def test_client_create_prints_the_secret_once_and_revoke_stops_it(tmp_path: Path) -> None:
    env = _env(tmp_path)
    migrated_sqlite(tmp_path / "var" / "oms.sqlite3")  # as `oms migrate` leaves it
    created = subprocess.run([*OMS, "client", "create", "--name", "ERP", "--scopes",
                              "orders:read,fulfillment:write"], env=env, capture_output=True,
                             text=True, timeout=60, check=True)
    fields = dict(line.split(":", 1) for line in created.stdout.splitlines() if ":" in line)
    assert fields["client_id"].strip().startswith("oms_")
    assert len(fields["client_secret"].strip()) >= 32
    assert fields["scopes"].split() == ["fulfillment:write", "orders:read"]
    revoked = subprocess.run([*OMS, "client", "revoke", fields["client_id"].strip()], env=env,
                             capture_output=True, text=True, timeout=60, check=True)
    assert revoked.stdout.startswith("Revoked oms_")
    bad = subprocess.run([*OMS, "client", "create", "--name", "X", "--scopes", "root"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("oms: error: Unknown scopes")


def test_replicas_migrating_at_once_apply_each_migration_once(tmp_path: Path) -> None:
    """Three replicas start together, each running ``oms migrate`` (as compose and the
    Dockerfile do): all exit 0, and every migration is recorded once."""
    server = os.environ.get("OMS_TEST_DATABASE_URL")
    if not server:
        pytest.skip("needs PostgreSQL: runs in the OMS_TEST_DATABASE_URL leg of .ci/run")
    import asyncio

    import asyncpg

    name = f"oms_migrate_{os.getpid()}"
    admin_url = server.rsplit("/", 1)[0] + "/postgres"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE DATABASE {name}"))
    try:
        url = server.rsplit("/", 1)[0] + f"/{name}"
        runs = [subprocess.Popen([*OMS, "migrate"], env=_env(tmp_path / str(i),
                                                               OMS_DATABASE_URL=url),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for i in range(3)]
        results = [(run.wait(timeout=180), run.stderr.read() if run.stderr else "")
                   for run in runs]
        assert [code for code, _ in results] == [0, 0, 0], results

        async def applied() -> list[tuple[str, int]]:
            conn = await asyncpg.connect(url)
            try:
                rows = await conn.fetch("SELECT name, COUNT(*) AS n FROM tortoise_migrations "
                                        "GROUP BY name ORDER BY name")
                return [(r["name"], r["n"]) for r in rows]
            finally:
                await conn.close()

        counts = asyncio.run(applied())
        assert counts and all(n == 1 for _, n in counts), counts
        migrations = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "domain"
                                             / "migrations").glob("0*.py"))
        assert [name for name, _ in counts] == migrations
    finally:
        asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
