"""Managing promotions and their voucher codes: create, change, delete, add codes.

Each change is checked whole before anything is written (every problem reported at once),
is written in one transaction with an outbox row telling every process to drop its cached
automatic promotions (``domain.discounts.offers``), and drops them here after the commit.
Orders already placed keep the discounts they were given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from domain import validation as v
from domain.catalog.lifecycle import UNSET, given
from domain.catalog.models import Channel, Variant
from domain.customers.models import CustomerGroup
from domain.discounts.models import DiscountKind, DiscountTarget, Promotion, Voucher
from domain.discounts.offers import automatic_cache, normal_code
from domain.errors import (
    DomainError,
    Duplicate,
    InvalidInput,
    NotFound,
    UnknownChannel,
    UnknownSku,
    raise_all,
)
from domain.events.models import OutboxMessage
from domain.events.ports import settings_topic
from domain.money import MAX_AMOUNT, exponent, validate_currency
from domain.uow import unit_of_work

CODE_RE = re.compile(r"[A-Z0-9_-]{3,64}")
MAX_RESTRICTIONS = 1000  # SKUs, channels or groups named by one promotion
MAX_CODES = 1000  # one voucherCreate
MAX_LIMIT = 1_000_000_000
__all__ = ["UNSET", "PromotionChanges", "PromotionSpec", "create_promotion",
           "create_vouchers", "delete_promotion", "group_codes", "update_promotion"]


@dataclass(frozen=True)
class PromotionSpec:
    name: str
    kind: DiscountKind
    target: DiscountTarget
    value: Decimal | str
    currency: str | None = None
    min_subtotal: Decimal | str | None = None
    skus: Sequence[str] | None = None
    channels: Sequence[str] | None = None
    customer_groups: Sequence[str] | None = None  # codes
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool = True
    requires_code: bool = False


@dataclass(frozen=True)
class PromotionChanges:
    """What to change; UNSET leaves it. Kind, target, currency and whether it needs a
    code stay: orders and codes were given it as it is."""

    name: Any = UNSET
    value: Any = UNSET
    min_subtotal: Any = UNSET
    skus: Any = UNSET
    channels: Any = UNSET
    customer_groups: Any = UNSET
    starts_at: Any = UNSET
    ends_at: Any = UNSET
    active: Any = UNSET


def _decimal(value: Decimal | str, *, field: tuple[str, ...]) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{value!r} is not a number", field=field) from None
    if not amount.is_finite():
        raise InvalidInput("Give a finite number", field=field)
    return amount


def _amount(value: Decimal | str, currency: str | None, *, field: tuple[str, ...]) -> Decimal:
    amount = _decimal(value, field=field)
    if not 0 < amount < MAX_AMOUNT:
        raise InvalidInput(f"An amount is above 0 and below {MAX_AMOUNT:,f}", field=field)
    if currency is not None and amount.as_tuple().exponent < -exponent(currency):  # type: ignore[operator]
        raise InvalidInput(f"{currency} has {exponent(currency)} decimals", field=field)
    return amount


def _list(values: Sequence[str] | None, name: str, errors: list[DomainError]
          ) -> list[str] | None:
    if values is None:
        return None
    cleaned = list(dict.fromkeys(str(x).strip() for x in values))
    if not cleaned or len(cleaned) > MAX_RESTRICTIONS:
        errors.append(InvalidInput(f"Name 1 to {MAX_RESTRICTIONS}, or null for all",
                                   field=(name,)))
        return None
    return cleaned


async def _clean(conn: BaseDBAsyncClient, spec: PromotionSpec) -> dict[str, Any]:
    """The promotion's columns, or every reason not."""
    errors: list[DomainError] = []
    out: dict[str, Any] = {"kind": spec.kind, "target": spec.target, "active": spec.active,
                           "requires_code": spec.requires_code}

    def check(name: str, fn: Any) -> None:
        try:
            out[name] = fn()
        except DomainError as error:
            errors.append(error)

    check("name", lambda: v.required_text(spec.name, field=("name",)))
    currency = None
    if spec.currency is not None:
        check("currency", lambda: validate_currency(spec.currency.strip().upper()))
        currency = out.get("currency")
    else:
        out["currency"] = None
        if spec.kind is DiscountKind.FIXED:
            errors.append(InvalidInput("A fixed amount is in a currency", field=("currency",)))
        if spec.min_subtotal is not None:
            errors.append(InvalidInput("A minimum subtotal is in a currency",
                                       field=("currency",)))
    if spec.kind is DiscountKind.PERCENTAGE:
        def percent() -> Decimal:
            p = _decimal(spec.value, field=("value",))
            if not 0 < p <= 100 or p.as_tuple().exponent < -4:  # type: ignore[operator]
                raise InvalidInput("A percentage is above 0 and at most 100, with at most 4 "
                                   "decimals", field=("value",))
            return p
        check("value", percent)
    else:
        check("value", lambda: _amount(spec.value, currency, field=("value",)))
    out["min_subtotal"] = None
    if spec.min_subtotal is not None:
        check("min_subtotal", lambda: _amount(spec.min_subtotal, currency,
                                              field=("minSubtotal",)))
    for value, name in ((spec.starts_at, "startsAt"), (spec.ends_at, "endsAt")):
        if value is not None and value.tzinfo is None:
            errors.append(InvalidInput("Give a time with its offset (UTC)", field=(name,)))
    if spec.starts_at and spec.ends_at and spec.starts_at.tzinfo and spec.ends_at.tzinfo \
            and spec.ends_at <= spec.starts_at:
        errors.append(InvalidInput("A promotion ends after it starts", field=("endsAt",)))
    out["starts_at"], out["ends_at"] = spec.starts_at, spec.ends_at
    skus = _list(spec.skus, "skus", errors)
    if skus is not None:
        known = set(await Variant.filter(sku__in=skus).using_db(conn).values_list(
            "sku", flat=True))
        errors += [UnknownSku(sku, field=("skus", str(i))) for i, sku in enumerate(skus)
                   if sku not in known]
    out["skus"] = skus
    channels = _list(spec.channels, "channels", errors)
    if channels is not None:
        found = {c.code: c for c in await Channel.filter(code__in=channels).using_db(conn)}
        for i, code in enumerate(channels):
            if code not in found:
                errors.append(UnknownChannel(code, field=("channels", str(i))))
            elif currency is not None and found[code].currency != currency:
                errors.append(InvalidInput(
                    f"Channel {code!r} sells in {found[code].currency}: this promotion is in "
                    f"{currency}", field=("channels", str(i))))
    out["channels"] = channels
    groups = _list(spec.customer_groups, "customerGroups", errors)
    out["customer_groups"] = None
    if groups is not None:
        found_groups = {g.code: g.id for g in
                        await CustomerGroup.filter(code__in=groups).using_db(conn)}
        errors += [NotFound("Customer group", code, field=("customerGroups", str(i)))
                   for i, code in enumerate(groups) if code not in found_groups]
        out["customer_groups"] = sorted(found_groups[c] for c in groups if c in found_groups)
    raise_all(errors)
    return out


async def _changed(conn: BaseDBAsyncClient) -> None:
    await OutboxMessage.create(topic=settings_topic(), payload=automatic_cache.changed(),
                               using_db=conn)


async def create_promotion(*, spec: PromotionSpec) -> Promotion:
    """A new promotion, automatic or redeemed with its codes (``requires_code``)."""
    try:
        async with unit_of_work() as conn:
            promotion = await Promotion.create(**await _clean(conn, spec), using_db=conn)
            await _changed(conn)
            return promotion
    finally:  # the next order here sees it, and elsewhere once told
        automatic_cache.clear()


async def group_codes(conn: BaseDBAsyncClient | None, ids: Sequence[int] | None
                      ) -> list[str] | None:
    if ids is None:
        return None
    query = CustomerGroup.filter(id__in=list(ids))
    rows = await (query.using_db(conn) if conn is not None else query)
    return sorted(g.code for g in rows)


async def _locked(conn: BaseDBAsyncClient, promotion_id: int, *, field: str = "id"
                  ) -> Promotion:
    found = await Promotion.filter(id=promotion_id).select_for_update().using_db(conn).first()
    if found is None:
        raise NotFound("Promotion", str(promotion_id), field=(field,))
    return found


async def update_promotion(*, promotion_id: int, changes: PromotionChanges) -> Promotion:
    """Change a promotion; the result is checked as a whole, like a new one."""
    try:
        async with unit_of_work() as conn:
            promotion = await _locked(conn, promotion_id)
            spec = PromotionSpec(
                name=promotion.name, kind=DiscountKind(promotion.kind),
                target=DiscountTarget(promotion.target), value=promotion.value,
                currency=promotion.currency, min_subtotal=promotion.min_subtotal,
                skus=promotion.skus, channels=promotion.channels,
                customer_groups=await group_codes(conn, promotion.customer_groups),
                starts_at=promotion.starts_at, ends_at=promotion.ends_at,
                active=promotion.active, requires_code=promotion.requires_code)
            for f in fields(changes):
                value = getattr(changes, f.name)
                if given(value):
                    if value is None and f.name in ("name", "value", "active"):
                        raise InvalidInput("This value cannot be cleared",
                                           field=(_camel(f.name),))
                    spec = replace(spec, **{f.name: value})
            promotion.update_from_dict({**await _clean(conn, spec),
                                        "updated_at": datetime.now(UTC)})
            await promotion.save(using_db=conn)
            await _changed(conn)
            return promotion
    finally:
        automatic_cache.clear()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def delete_promotion(*, promotion_id: int) -> Promotion:
    """Delete a promotion and its codes; orders keep the discounts they were given (by
    name and code)."""
    try:
        async with unit_of_work() as conn:
            promotion = await _locked(conn, promotion_id)
            await promotion.delete(using_db=conn)
            await _changed(conn)
            return promotion
    finally:
        automatic_cache.clear()


def _limit(value: int | None, name: str, errors: list[DomainError]) -> None:
    if value is not None and (isinstance(value, bool) or not 1 <= value <= MAX_LIMIT):
        errors.append(InvalidInput(f"Give 1 to {MAX_LIMIT:,}, or null for no limit",
                                   field=(name,)))


async def create_vouchers(*, promotion_id: int, codes: Sequence[str], max_uses: int | None,
                          per_customer_limit: int | None) -> list[Voucher]:
    """Codes for a promotion that needs one: 3 to 64 of A-Z, 0-9, '-' and '_' (taken in any
    case, kept in upper case), unique across promotions (DUPLICATE); ``max_uses`` 1 is a
    single-use code, None unlimited."""
    errors: list[DomainError] = []
    if not codes or len(codes) > MAX_CODES:
        errors.append(InvalidInput(f"Give 1 to {MAX_CODES} codes", field=("codes",)))
    cleaned: list[str] = []
    for i, code in enumerate(codes[:MAX_CODES]):
        normal = normal_code(code)
        if not CODE_RE.fullmatch(normal):
            errors.append(InvalidInput("A code is 3 to 64 letters, digits, '-' or '_'",
                                       field=("codes", str(i))))
        elif normal in cleaned:
            errors.append(Duplicate("Voucher code", normal, field=("codes", str(i))))
        else:
            cleaned.append(normal)
    _limit(max_uses, "maxUses", errors)
    _limit(per_customer_limit, "perCustomerLimit", errors)
    try:
        async with unit_of_work() as conn:
            promotion = await _locked(conn, promotion_id, field="promotionId")
            if not promotion.requires_code:
                errors.append(InvalidInput("This promotion applies without a code: create it "
                                           "with requiresCode to give it codes",
                                           field=("promotionId",)))
            taken = set(await Voucher.filter(code__in=cleaned).using_db(conn).values_list(
                "code", flat=True))
            errors += [Duplicate("Voucher code", code, field=("codes", str(i)))
                       for i, code in enumerate(cleaned) if code in taken]
            raise_all(errors)
            rows = [Voucher(promotion_id=promotion.id, code=code, max_uses=max_uses,
                            per_customer_limit=per_customer_limit) for code in cleaned]
            for row in rows:
                await row.save(using_db=conn)
            return rows
    except IntegrityError:  # a concurrent create of the same code
        raise Duplicate("Voucher code", ", ".join(cleaned), field=("codes",)) from None
