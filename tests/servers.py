"""Real processes for tests that cross process boundaries: `oms serve` and redis-server."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx

from tests.support import ADMIN_TOKEN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(check: object, seconds: float, what: str, proc: subprocess.Popen,
                log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = log.read_text() if log else proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"{what} exited early:\n{output}")
        try:
            if check():  # type: ignore[operator]
                return
        except (httpx.TransportError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not become ready in {seconds}s")


_migrated: Path | None = None  # a database `oms migrate` made, once per test process


def migrated_sqlite(path: Path) -> str:
    """The URL of a SQLite database at ``path`` as ``oms migrate`` leaves a new one: every
    migration applied, no rows. Copied from one migrated once per test process, as migrating
    takes seconds of CPU: for servers whose test is about something else."""
    global _migrated
    if _migrated is None:
        folder = Path(tempfile.mkdtemp(prefix="oms-migrated-"))
        environment = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
        environment.update(OMS_DATABASE_URL=f"sqlite://{folder / 'oms.sqlite3'}",
                           OMS_VAR_DIR=str(folder))
        subprocess.run([sys.executable, "-m", "api", "migrate"], env=environment, check=True,
                       capture_output=True, timeout=300)
        _migrated = folder / "oms.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(_migrated)) as source, closing(sqlite3.connect(path)) as copy:
        source.backup(copy)
    path.chmod(0o600)
    return f"sqlite://{path}"


class Server:
    def __init__(self, port: int, proc: subprocess.Popen) -> None:
        self.port = port
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.log: Path | None = None

    async def counted(self, metric: str) -> float:
        """What the server's counter ``oms_<metric>_total`` says (0 before its first count)."""
        async with httpx.AsyncClient(timeout=10) as http:
            text = (await http.get(f"{self.url}/metrics", headers={
                "Authorization": f"Bearer {ADMIN_TOKEN}"})).text
        found = re.search(rf"^oms_{metric}_total (\S+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0


@contextmanager
def oms_server(*, database_url: str, redis_url: str | None,
               env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> Iterator[Server]:
    """`oms serve` in its own process (``args``: more flags, e.g. ``--workers``), on the given
    database and Redis, with a var folder of its own. A port another process took between
    choosing it and listening on it is chosen again."""
    for attempt in range(3):
        try:
            with _oms_server(database_url=database_url, redis_url=redis_url, env=env,
                             args=args) as server:
                yield server
                return
        except _PortTaken:
            if attempt == 2:
                raise


class _PortTaken(RuntimeError):
    pass


@contextmanager
def _oms_server(*, database_url: str, redis_url: str | None, env: dict[str, str] | None,
                args: tuple[str, ...]) -> Iterator[Server]:
    port = free_port()
    var_dir = Path(tempfile.mkdtemp(prefix="oms-var-"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    environment.update(OMS_DATABASE_URL=database_url, OMS_ADMIN_TOKEN=ADMIN_TOKEN,
                       OMS_VAR_DIR=str(var_dir), OMS_DB_POOL_MAX="10",
                       OMS_PASSWORD_HASH="m=8,t=1,p=1")  # as the tests' own app hashes
    if redis_url:
        environment["OMS_REDIS_URL"] = redis_url
    environment.update(env or {})
    # Its log goes to a file: a pipe nobody reads fills up and stops the server mid-request.
    log = var_dir / "server.log"
    with log.open("w") as output:
        proc = subprocess.Popen([sys.executable, "-m", "api", "serve", "--port", str(port), *args],
                                env=environment, stdout=output, stderr=subprocess.STDOUT)
    try:
        try:
            _wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                        .status_code == 200, 60, "oms serve", proc, log)
        except RuntimeError as error:
            if "address already in use" in str(error):
                raise _PortTaken(str(error)) from error
            raise
        server = Server(port, proc)
        server.log = log
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


class RedisServer:
    """A redis-server the test owns, so it can stop and start it."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = Path(tempfile.mkdtemp(prefix="oms-redis-"))
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        def answers() -> bool:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")

        _wait_until(answers, 20, "redis-server", self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    @contextmanager
    def hung(self) -> Iterator[None]:
        """Redis stops answering, its connections open (a stalled host), until the end."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.proc.send_signal(signal.SIGCONT)


class LocalServer:
    """An ASGI app served by uvicorn inside the test's event loop, on a free port: the
    socket is bound here and handed to uvicorn, so no other process can take the port
    between choosing it and listening on it."""

    def __init__(self, app: object) -> None:
        import uvicorn

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port,  # type: ignore[arg-type]
                                log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task: object = None

    async def start(self) -> None:
        import asyncio

        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:  # noqa: ASYNC110 - uvicorn offers no started event
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        await self._task  # type: ignore[misc]
        self._socket.close()


async def until_catalogue_heard(server: Server) -> None:
    """Until the server has heard of every catalogue change committed so far (answers and
    caches it keeps go stale with each)."""
    from domain.events.models import OutboxMessage
    from domain.events.ports import catalog_topic
    from tests.support import eventually

    written = await OutboxMessage.filter(topic=catalog_topic()).count()

    async def heard_all() -> bool:
        return await server.counted("catalog_cache_invalidations") >= written

    await eventually(heard_all, seconds=20)
