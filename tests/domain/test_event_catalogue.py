"""The event catalogue is the only source of event types, payloads and webhook topics,
and handlers see the event types they registered for."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from domain.events.catalogue import (
    CATALOGUE,
    KINDS,
    EventType,
    OrderEventPayload,
    topic_of,
)
from domain.events.handlers import HandlerRegistry
from domain.events.models import OutboxMessage
from domain.webhooks.service import CATEGORIES

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("domain", "api", "integrations") for p in (ROOT / d).rglob("*.py")]

# Names subscribers already receive: they must not change.
KNOWN_TOPICS = {
    EventType.ORDER_PLACED: "order.placed",
    EventType.ORDER_CONFIRMED: "order.confirmed",
    EventType.ORDER_ON_HOLD: "order.on_hold",
    EventType.ORDER_CANCELLED: "order.cancelled",
    EventType.ORDER_FULFILLED: "order.fulfilled",
    EventType.STOCK_RESERVED: "order.stock_reserved",
    EventType.CARRIER_CHOSEN: "order.carrier_chosen",
    EventType.SHIPMENT_CREATED: "shipment.created",
    EventType.SHIPMENT_IN_TRANSIT: "shipment.in_transit",
    EventType.SHIPMENT_DELIVERED: "shipment.delivered",
    EventType.RETURN_REQUESTED: "return.requested",
    EventType.RETURN_REFUNDED: "return.refunded",
    EventType.PAYMENT_CAPTURED: "payment.captured",
    EventType.PAYMENT_STATUS_PAID: "payment.status_paid",
    EventType.STOCK_CHANGED: "inventory.changed",
    EventType.LOW_STOCK: "inventory.low_stock",
    EventType.TRACKING_EVENT: "shipment.tracking",
    EventType.PRODUCT_ARCHIVED: "catalog.product_archived",
    EventType.VARIANT_UPDATED: "catalog.variant_updated",
    EventType.CHANNEL_UPDATED: "catalog.channel_updated",
    EventType.LOCATION_UPDATED: "catalog.location_updated",
    EventType.CATALOG_IMPORTED: "catalog.catalog_imported",
}


def test_every_event_type_has_a_payload_and_a_webhook_topic() -> None:
    assert set(CATALOGUE) == set(EventType)
    for event, spec in CATALOGUE.items():
        assert dataclasses.is_dataclass(spec.payload), event
        assert spec.topic.split(".")[0] in CATEGORIES, (event, spec.topic)
    for kind, event in KINDS.items():
        assert CATALOGUE[event].payload.kind == kind  # type: ignore[attr-defined]


def test_webhook_topics_keep_their_names() -> None:
    for event, topic in KNOWN_TOPICS.items():
        assert CATALOGUE[event].topic == topic
        payload = ({"kind": "stock_changed"} if event is EventType.STOCK_CHANGED
                   else {"kind": "low_stock"} if event is EventType.LOW_STOCK
                   else {"kind": "tracking_event"} if event is EventType.TRACKING_EVENT
                   else {"kind": "order_event", "type": event.value})
        assert topic_of(payload) == topic


def _emissions() -> list[tuple[Path, ast.Call]]:
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ("record_order_event", "_transition"):
                    found.append((path, node))
    return found


def test_no_event_is_emitted_with_a_string_type() -> None:
    emissions = _emissions()
    assert len(emissions) > 15  # the scan sees the emitters
    bad = []
    for path, call in emissions:
        for keyword in call.keywords:
            if keyword.arg in ("type", "event") and isinstance(
                    keyword.value, (ast.Constant, ast.JoinedStr, ast.BinOp)):
                bad.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert bad == [], f"event types come from EventType, not strings: {bad}"


def test_outbox_payloads_are_built_by_payload_classes() -> None:
    bad = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Dict) and any(
                    isinstance(k, ast.Constant) and k.value == "kind" for k in node.keys) and any(
                    isinstance(v, ast.Constant) and v.value in {*KINDS, "order_event"}
                    for v in node.values):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bad == [], f"outbox payloads come from the catalogue's classes: {bad}"


def _message(id: int, payload: dict[str, object]) -> OutboxMessage:
    return OutboxMessage(id=id, topic="t", payload=payload)


def _order_event(id: int, type: EventType) -> OutboxMessage:
    return _message(id, OrderEventPayload(order_id=1, sequence=id, type=type, message=None,
                                          actor=None, data=None, created_at="").to_json())


async def test_handlers_see_only_their_event_types_in_order() -> None:
    registry = HandlerRegistry()
    seen: dict[str, list[int]] = {"stock": [], "orders": [], "all": [], "tx": []}

    async def stock(batch: list[OutboxMessage]) -> None:
        seen["stock"] += [m.id for m in batch]

    async def orders(batch: list[OutboxMessage]) -> None:
        seen["orders"] += [m.id for m in batch]

    async def everything(batch: list[OutboxMessage]) -> None:
        seen["all"] += [m.id for m in batch]

    async def in_tx(conn: object, batch: list[OutboxMessage], writes: object) -> None:
        seen["tx"] += [m.id for m in batch]

    registry.register("stock", stock, [EventType.STOCK_CHANGED])
    registry.register("orders", orders, [EventType.ORDER_PLACED, EventType.ORDER_CANCELLED])
    registry.register("all", everything)
    registry.register_in_transaction("tx", in_tx, [EventType.ORDER_PLACED])
    batch = [_order_event(1, EventType.ORDER_PLACED), _message(2, {"kind": "stock_changed",
                                                                   "sku": "A"}),
             _order_event(3, EventType.SHIPMENT_CREATED), _order_event(4,
                                                                     EventType.ORDER_CANCELLED)]
    await registry.after_publish(batch)
    assert seen == {"stock": [2], "orders": [1, 4], "all": [1, 2, 3, 4], "tx": []}
    await registry.record(None, batch, None)  # type: ignore[arg-type]
    assert seen["tx"] == [1]
    with pytest.raises(ValueError):
        registry.register("none", stock, [])


def test_the_app_registers_its_handlers_in_one_place() -> None:
    from api.handlers import build_handlers
    from domain.webhooks.worker import DeliveryWorker

    registry = build_handlers(webhooks=DeliveryWorker.__new__(DeliveryWorker))
    names = [name for name, _types, _tx in registry.handlers()]
    assert names == ["webhooks.fan_out", "webhooks.wake", "marketplaces.stock_dirty",
                     "marketplaces.fulfillments"]
    assert [tx for _n, _t, tx in registry.handlers()] == [True, False, True, False]
    app_source = (ROOT / "api" / "app.py").read_text()
    assert "fan_out(" not in app_source and "mark_dirty(" not in app_source
