"""GraphiQL's page loads nothing from outside the app, and every asset is the one it names."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser

from tests.support import GraphQLClient


class Assets(HTMLParser):
    """The scripts and stylesheets a page loads, with their integrity attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        address = named.get("src") if tag == "script" else (
            named.get("href") if tag == "link" and named.get("rel") == "stylesheet" else None)
        if address:
            self.found.append((address, named.get("integrity")))


async def test_graphiql_loads_only_assets_the_app_serves(api: GraphQLClient) -> None:
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})
    parser = Assets()
    parser.feed(page.text)
    assert len(parser.found) == 7, parser.found  # react, react-dom, js-cookie, graphiql x2, explorer x2
    for address, integrity in parser.found:
        assert address.startswith("/static/graphiql/"), address
        asset = await api.http.get(address)
        assert asset.status_code == 200, address
        assert integrity is not None and integrity.startswith("sha384-")
        digest = base64.b64encode(hashlib.sha384(asset.content).digest()).decode()
        assert integrity == f"sha384-{digest}", address
    assert "unpkg.com" not in page.text and "jsdelivr" not in page.text
