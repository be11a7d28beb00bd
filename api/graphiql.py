"""GraphiQL without a CDN: strawberry's page, pointed at the copies of its assets we serve."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "static" / "graphiql"
PREFIX = "/static/graphiql"
CDN = "https://unpkg.com/"


def local_page(html: str) -> str:
    """The page with every CDN address replaced by ours; same paths, same integrity hashes."""
    return html.replace(CDN, f"{PREFIX}/")


def assets() -> Mount:
    return Mount(PREFIX, app=StaticFiles(directory=ASSETS), name="graphiql-assets")
