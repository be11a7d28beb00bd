"""What the reservation event says when one location holds stock and a backorder."""

from __future__ import annotations

from tests import factories
from tests.api.test_orders import CREATE, order_input
from tests.support import GraphQLClient


async def test_one_location_with_stock_and_a_backorder_is_named_once(api: GraphQLClient) -> None:
    await factories.location("berlin-wh")
    await factories.channel("web", locations=["berlin-wh"])
    await factories.product("PRE", backorder=factories.BackorderPolicy.CONTINUE)
    await factories.stock("PRE", {"berlin-wh": 1})
    order = (await api(CREATE, order_input({"PRE": 3})))["orderCreate"]["order"]
    message = order["events"][1]["message"]
    assert "split" not in message
    assert message.count("berlin-wh") == 2, message  # once reserved, once in the reason
    assert message == ("Reserved 3 x PRE at berlin-wh (2 backordered). Why: not enough stock "
                       "anywhere for the whole order; berlin-wh holds what there is, the rest "
                       "backordered there.")
