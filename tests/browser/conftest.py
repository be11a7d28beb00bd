"""Wiring for browser tests: a real `oms serve` and pages served from other origins."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import FileResponse
from starlette.routing import Route

from tests.browser.chromium import chromium_path
from tests.servers import LocalServer, Server, migrated_sqlite, oms_server

PAGE = Path(__file__).parent / "page.html"


def page_site() -> Starlette:
    async def page(_: object) -> FileResponse:
        return FileResponse(PAGE, media_type="text/html")

    return Starlette(routes=[Route("/", page)])


@dataclass
class Site:
    api: Server
    shop: LocalServer  # an origin the API allows
    stranger: LocalServer  # an origin it does not


@pytest.fixture(scope="module")
def _servers() -> Iterator[Site]:
    chromium_path()  # skip (or fail in CI) before starting anything
    shop, stranger = LocalServer(page_site()), LocalServer(page_site())
    var = tempfile.mkdtemp(prefix="oms-browser-")
    # The embedded mode: SQLite (a migrated copy), loaded with the demo data at start.
    with oms_server(database_url=migrated_sqlite(Path(var) / "oms.sqlite3"), redis_url=None,
                    env={"OMS_ALLOWED_ORIGINS": shop.url, "OMS_VAR_DIR": var}) as api:
        yield Site(api, shop, stranger)


@pytest.fixture(scope="module")
async def site(_servers: Site) -> AsyncIterator[Site]:
    await _servers.shop.start()
    await _servers.stranger.start()
    try:
        yield _servers
    finally:
        await _servers.shop.stop()
        await _servers.stranger.stop()
