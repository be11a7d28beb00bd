"""Every notifying event reaches the notifier through the registry, and every kind of
message has its built-in templates: read off the registry and the template folders, so a
kind added tomorrow without its templates or its registration fails here."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from api.handlers import build_handlers
from domain.events.catalogue import EventType
from domain.events.models import OutboxMessage
from domain.notifications import kinds
from domain.notifications.service import NotificationConfig, Notifier
from domain.webhooks.worker import DeliveryWorker
from integrations.email.log import LogMailer

TEMPLATES = Path(kinds.__file__).parent / "templates"


def test_the_notifier_owes_messages_in_the_relays_transaction_for_every_notifying_event(
) -> None:
    registry = build_handlers(webhooks=DeliveryWorker(sender=None),  # type: ignore[arg-type]
                              notifier=Notifier(NotificationConfig(), LogMailer()))
    handlers = {name: (types, in_transaction) for name, types, in_transaction
                in registry.handlers()}
    assert handlers["notifications.owed"] == (kinds.EVENT_TYPES, True)
    assert handlers["notifications.wake"] == (kinds.EVENT_TYPES, False)


def test_every_kind_has_its_templates() -> None:
    for kind in kinds.PREVIEWABLE:  # customers: English and Simplified Chinese
        for language in ("en", "zh-Hans"):
            assert (TEMPLATES / language / f"{kind}.j2").is_file(), (language, kind)
    for kind in kinds.STAFF_KINDS.values():
        assert (TEMPLATES / "en" / f"{kind}.j2").is_file(), kind
    for language in ("en", "zh-Hans"):
        for name in ("layout.txt", "layout.html", "sms.txt"):
            assert (TEMPLATES / language / name).is_file(), (language, name)
    assert not set(kinds.CUSTOMER_KINDS.values()) & set(kinds.STAFF_KINDS.values())


def test_an_edit_tells_the_customer_only_when_staff_asked_for_it() -> None:
    notifier = Notifier(NotificationConfig(), LogMailer())

    def owed(notify: bool) -> list[str]:
        payload = {"type": EventType.ORDER_EDITED.value, "order_id": 7,
                   "data": {"notify_customer": notify, "staff_note": "internal"}}
        return [row.kind for row in notifier.rows_for([OutboxMessage(id=1, topic="order.7",
                                                                     payload=payload)],
                                                      datetime.now(UTC))]

    assert owed(True) == ["order_edited"]
    assert owed(False) == []
