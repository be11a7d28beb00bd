"""Reading and changing the merchant's risk settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.db import connection
from domain.events.models import OutboxMessage
from domain.events.ports import settings_topic
from domain.risk.cache import stored_settings_cache
from domain.risk.models import RiskSettingsRow
from domain.risk.screening import stored_settings
from domain.risk.settings import RiskSettings, clean_changes, effective
from domain.uow import unit_of_work


async def current_settings(defaults: RiskSettings) -> RiskSettings:
    """The settings new orders are screened with: the defaults and the merchant's changes."""
    return await stored_settings(connection(), defaults)


async def update_settings(*, defaults: RiskSettings, changes: Mapping[str, Any]) -> RiskSettings:
    """Store the merchant's changes (checked first: a bad value changes nothing) over the
    ones already stored; the next order placed is screened with them."""
    cleaned = clean_changes(changes)
    try:
        return await _store(defaults, cleaned)
    finally:  # the next order here is screened with them, and elsewhere once told
        stored_settings_cache.clear()


async def _store(defaults: RiskSettings, cleaned: Mapping[str, Any]) -> RiskSettings:
    async with unit_of_work() as conn:
        row = await RiskSettingsRow.filter(id=1).select_for_update().using_db(conn).first()
        if row is None:
            await RiskSettingsRow.bulk_create([RiskSettingsRow(id=1, config={})],
                                              ignore_conflicts=True, using_db=conn)
            row = await RiskSettingsRow.filter(id=1).select_for_update().using_db(conn).get()
        row.config = {**(row.config or {}), **cleaned}
        await row.save(using_db=conn)
        await OutboxMessage.create(topic=settings_topic(), payload=stored_settings_cache.changed(),
                                   using_db=conn)
        return effective(defaults, row.config)
