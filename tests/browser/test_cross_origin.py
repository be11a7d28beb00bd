"""A page on another origin uses the API from a real browser: CORS and the websocket's origin."""

from __future__ import annotations

from urllib.parse import urlencode

from tests.browser.chromium import artifact, browser
from tests.browser.conftest import Site
from tests.support import ADMIN_TOKEN


async def test_a_page_on_an_allowed_origin_queries_orders_and_subscribes(site: Site) -> None:
    async with browser() as chromium:
        page = await chromium.new_page()
        await page.goto(f"{site.shop.url}/?" + urlencode({"api": site.api.url,
                                                          "token": ADMIN_TOKEN}))
        result = await page.evaluate("run()")
        websocket = await page.evaluate("connect()")
        await page.screenshot(path=artifact("cross-origin-allowed.png"))
    assert websocket == "acknowledged"
    assert "error" not in result, result
    assert result["userErrors"] == [] and result["order"]["status"] == "PENDING"
    # Replayed from the start, then the confirmation the page sent while subscribed.
    assert result["events"] == ["ORDER_PLACED", "STOCK_RESERVED", "ORDER_CONFIRMED"]


async def test_a_page_on_another_origin_is_refused_by_the_browser(site: Site) -> None:
    async with browser() as chromium:
        page = await chromium.new_page()
        refused: list[str] = []
        page.on("console", lambda message: refused.append(message.text))
        await page.goto(f"{site.stranger.url}/?" + urlencode({"api": site.api.url,
                                                              "token": ADMIN_TOKEN}))
        result = await page.evaluate("run()")
        websocket = await page.evaluate("connect()")
        await page.screenshot(path=artifact("cross-origin-refused.png"))
    assert result == {"error": "TypeError: Failed to fetch"}, result
    assert websocket == "refused"
    assert any("CORS policy" in line for line in refused), refused
