"""One low-stock alert when a row falls to its threshold, not one per order; rising re-arms."""

from __future__ import annotations

from typing import Any

from domain.events.models import OutboxMessage
from domain.inventory import service
from domain.webhooks.service import event_name
from tests import factories


async def _alerts() -> list[dict[str, Any]]:
    return [m.payload for m in await OutboxMessage.all().order_by("id")
            if m.payload.get("kind") == "low_stock"]


async def test_low_stock_alerts_once_per_crossing(app: object, db: None) -> None:
    await factories.shop({"SHOE": {"a": 5}})
    await service.set_stock(target=service.StockTarget("SHOE", "a"), on_hand=5,
                            low_stock_threshold=3, actor="test")
    await factories.place({"SHOE": 1})  # 4 left
    assert await _alerts() == []
    await factories.place({"SHOE": 1})  # 3 left: at the threshold
    await factories.place({"SHOE": 1})  # 2 left: still low, no second alert
    assert await _alerts() == [{"kind": "low_stock", "sku": "SHOE", "location": "a",
                                "available": 3, "threshold": 3}]
    await service.adjust_stock(target=service.StockTarget("SHOE", "a"), delta=10,
                               reason="delivery", actor="test")  # 12: re-armed
    await factories.place({"SHOE": 10})  # 2 again
    alerts = await _alerts()
    assert [a["available"] for a in alerts] == [3, 2]
    assert event_name(alerts[0]) == "inventory.low_stock"
