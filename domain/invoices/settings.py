"""The merchant's invoice settings: who sells (name, address, tax number), the series'
prefixes, the time zone whose calendar year numbers them, and when an order is invoiced.

Stored as one row of changed fields (``invoiceSettingsUpdate``) over the defaults below.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.errors import DomainError, InvalidInput, raise_all
from domain.invoices.models import InvoiceSettingsRow, IssueOn
from domain.uow import unit_of_work

SERIES = re.compile(r"^[A-Z0-9]{1,8}$")


@dataclass(frozen=True)
class InvoiceSettings:
    issue_on: IssueOn = IssueOn.PAID
    invoice_series: str = "INV"
    credit_note_series: str = "CN"
    seller_name: str = ""
    seller_address: str = ""  # lines separated by newlines, as printed
    seller_tax_number: str = ""
    seller_email: str = ""
    time_zone: str = "UTC"

    def to_json(self) -> dict[str, Any]:
        return {key: (value.value if isinstance(value, IssueOn) else value)
                for key, value in asdict(self).items()}


NAMES = frozenset(f.name for f in fields(InvoiceSettings))
_TEXT_LIMITS = {"seller_name": 200, "seller_address": 1000, "seller_tax_number": 64,
                "seller_email": 254}


def _field(name: str) -> tuple[str, ...]:
    head, *rest = name.split("_")
    return (head + "".join(part.title() for part in rest),)


def clean_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Check the merchant's changes (None leaves a setting as it is); every problem at once."""
    errors: list[DomainError] = []
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if value is None:
            continue
        field = _field(name)
        if name not in NAMES:
            errors.append(InvalidInput(f"Unknown invoice setting {name}", field=field))
        elif name == "issue_on":
            try:
                out[name] = IssueOn(value).value
            except ValueError:
                errors.append(InvalidInput(f"{value!r} is not one of "
                                           f"{', '.join(IssueOn)}", field=field))
        elif name in ("invoice_series", "credit_note_series"):
            if not SERIES.match(str(value)):
                errors.append(InvalidInput("A series prefix is 1 to 8 capital letters or "
                                           "digits (INV, CN, R2)", field=field))
            else:
                out[name] = str(value)
        elif name == "time_zone":
            try:
                v.time_zone(str(value), field=field)
                out[name] = str(value)
            except DomainError as error:
                errors.append(error)
        else:
            text = str(value).strip()
            if len(text) > _TEXT_LIMITS[name] or "\x00" in text:
                errors.append(InvalidInput(f"At most {_TEXT_LIMITS[name]} characters",
                                           field=field))
            else:
                out[name] = text
    if out.get("invoice_series") is not None and \
            out.get("invoice_series") == out.get("credit_note_series"):
        errors.append(InvalidInput("Invoices and credit notes are numbered in series of "
                                   "their own", field=("creditNoteSeries",)))
    raise_all(errors)
    return out


def effective(config: Mapping[str, Any] | None) -> InvoiceSettings:
    """The defaults with the stored changes over them (names no longer known ignored)."""
    known = {k: val for k, val in (config or {}).items() if k in NAMES}
    if "issue_on" in known:
        known["issue_on"] = IssueOn(known["issue_on"])
    return replace(InvoiceSettings(), **known)


async def stored_settings(conn: BaseDBAsyncClient) -> InvoiceSettings:
    row = await InvoiceSettingsRow.filter(id=1).using_db(conn).first()
    return effective(row.config if row is not None else None)


async def update_settings(*, changes: Mapping[str, Any]) -> InvoiceSettings:
    """Store the merchant's changes over the ones already stored; documents issued before
    keep what they were issued with. A bad value changes nothing."""
    cleaned = clean_changes(changes)
    async with unit_of_work() as conn:
        row = await InvoiceSettingsRow.filter(id=1).select_for_update().using_db(conn).first()
        if row is None:
            await InvoiceSettingsRow.bulk_create([InvoiceSettingsRow(id=1, config={})],
                                                 ignore_conflicts=True, using_db=conn)
            row = await InvoiceSettingsRow.filter(id=1).select_for_update().using_db(
                conn).get()
        merged = {**(row.config or {}), **cleaned}
        if effective(merged).invoice_series == effective(merged).credit_note_series:
            raise InvalidInput("Invoices and credit notes are numbered in series of their own",
                               field=("creditNoteSeries",))
        row.config = merged
        await row.save(using_db=conn)
        return effective(row.config)
