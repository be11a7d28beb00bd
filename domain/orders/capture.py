"""Capturing an order: validate, price from the catalogue, route, reserve, record.

Everything happens in one transaction, so an order either exists with all of
its reservations, ledger rows and events, or nothing was written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from domain import metrics
from domain import validation as v
from domain.access import Kind, Scope
from domain.catalog.cache import ChannelRoute, OrderableVariant, catalogue_cache
from domain.catalog.models import BackorderPolicy, Location, Variant
from domain.catalog.prices import Buyer, Price, resolve_price
from domain.companies import service as companies
from domain.companies.models import Company
from domain.customers.models import Customer
from domain.customers.service import OrderCustomer, customer_for_order
from domain.db import Linked, fetch, insert_family, insert_rows, insert_sql, is_postgres
from domain.discounts.models import OrderDiscount, Voucher, VoucherRedemption
from domain.discounts.offers import automatic_cache, redeem, voucher_offer
from domain.discounts.rules import Basket, Discounts, Offer, discount_order
from domain.errors import (
    DomainError,
    Duplicate,
    InsufficientStock,
    InvalidInput,
    NotFound,
    UnknownChannel,
    UnknownLocation,
    UnknownSku,
    VariantArchived,
    raise_all,
)
from domain.events.catalogue import EventType
from domain.events.models import OrderEvent, OutboxMessage
from domain.events.ports import order_topic
from domain.events.service import event_payload, stock_changed_messages
from domain.fulfillment.ports import Carrier
from domain.fulfillment.rates import quote_shipping, shipping_amount
from domain.idempotency.service import IdempotencyKey, idempotent
from domain.inventory.models import StockLevel, StockMovement
from domain.inventory.reservation import (
    GuardedReservation,
    Hold,
    ensure_levels,
    guarded_reservation,
    levels_of,
    lock_levels,
    locking_levels,
    reservation_movement,
)
from domain.money import MAX_AMOUNT, quantize
from domain.orders.models import Allocation, Counter, HoldKind, Order, OrderLine, OrderStatus
from domain.orders.pricing import PricedLine, destination, line_columns, price_order
from domain.risk.rules import Assessment, RiskFacts
from domain.risk.screening import Screening, buyer_locks, lock_buyer, screen
from domain.routing.service import Candidate, Demand, Destination, Plan, plan_reservations
from domain.taxes.ports import TaxProvider, TaxQuote

MAX_LINES = 250
RISK_HOLD_REASON = "Held for risk review"
FIRST_ORDER_NUMBER = 1001


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int
    # A staff-set price (a draft order's, checked and permitted there), or a marketplace's
    # own; None: the catalogue's.
    unit_price: Decimal | None = None
    discount: Decimal = Decimal(0)  # off the line's price times quantity (a marketplace's)


def price_lines(lines: Sequence[LineRequest], route: ChannelRoute,
                orderable: Mapping[str, OrderableVariant], *, buyer: Buyer,
                at: datetime) -> list[Price]:
    """Each line's unit price: the one set by staff, else ``resolve_price``'s; every SKU
    without a price is reported at once (NoPrice)."""
    currency = route.channel.currency
    errors: list[DomainError] = []
    prices: list[Price] = []
    for i, line in enumerate(lines):
        if line.unit_price is not None:
            prices.append(Price(line.unit_price, currency))
            continue
        try:
            prices.append(resolve_price(channel=route, currency=currency, buyer=buyer,
                                        variant=orderable[line.sku], quantity=line.quantity,
                                        at=at, field=("lines", str(i), "sku")))
        except DomainError as error:
            errors.append(error)
    raise_all(errors)
    return prices


@dataclass(frozen=True)
class OrderRequest:
    channel: str
    lines: Sequence[LineRequest]
    email: str | None = None
    customer_id: int | None = None
    shipping_address: Mapping[str, Any] | None = None
    billing_address: Mapping[str, Any] | None = None
    shipping_method: str | None = None
    pickup_location: str | None = None
    po_number: str | None = None
    external_id: str | None = None
    via_account: bool = False  # placed by the signed-in customer themselves
    # Marketplace orders are never dropped: short of stock, keep it on hold, unreserved.
    hold_if_short: bool = False
    # A marketplace's own money: its shipping (before tax), its taxes and whether its prices
    # include them; None: ours (the carriers' rate, the tax provider, the channel's rule).
    shipping_amount: Decimal | None = None
    tax: TaxQuote | None = None
    prices_include_tax: bool | None = None
    # One voucher code at most (domain/discounts/rules.py says how it stacks with the
    # automatic promotions); ``apply_promotions`` False: none at all (a marketplace's own
    # prices).
    voucher_code: str | None = None
    apply_promotions: bool = True
    # The company the order is placed for (B2B): its contact's order, at its prices, tax
    # exemption and payment terms, within its credit limit (domain/companies/service.py).
    company_id: int | None = None


@dataclass(frozen=True)
class _Clean:
    email: str | None
    shipping_address: dict[str, str] | None
    billing_address: dict[str, str] | None
    shipping_method: str | None
    po_number: str | None
    external_id: str | None


def _validate(request: OrderRequest) -> _Clean:
    """Formats and sizes, all reported at once, before any database work.

    Every order is delivered to its shipping address unless it names a
    pickupLocation: one with neither is refused, from every source (the API,
    marketplace imports) alike.
    """
    errors: list[DomainError] = []

    def check(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as error:
            errors.append(error)
            return None

    if not request.lines:
        errors.append(InvalidInput("An order needs at least one line", field=("lines",)))
    if len(request.lines) > MAX_LINES:
        errors.append(InvalidInput(f"At most {MAX_LINES} lines per order", field=("lines",)))
    for i, line in enumerate(request.lines[:MAX_LINES]):
        check(v.quantity, line.quantity, field=("lines", str(i), "quantity"))
        check(v.required_text, line.sku, field=("lines", str(i), "sku"), max_length=v.MAX_CODE)
    clean = _Clean(
        email=check(v.email, request.email, field=("email",)),
        shipping_address=check(v.address, request.shipping_address, field=("shippingAddress",)),
        billing_address=check(v.address, request.billing_address, field=("billingAddress",)),
        shipping_method=check(v.text, request.shipping_method, field=("shippingMethod",),
                              max_length=v.MAX_CODE),
        po_number=check(v.text, request.po_number, field=("poNumber",), max_length=64),
        external_id=check(v.text, request.external_id, field=("externalId",), max_length=128),
    )
    if request.email is None and request.customer_id is None:
        errors.append(InvalidInput("Give the customer's email or customerId", field=("email",)))
    if request.shipping_address is None and request.pickup_location is None:
        errors.append(InvalidInput(
            "A delivered order needs a shipping address (or a pickupLocation to collect it)",
            field=("shippingAddress",)))
    raise_all(errors)
    return clean


async def next_order_number(conn: BaseDBAsyncClient) -> str:
    """Take the next order number inside the order's transaction: a rollback leaves no gap."""
    take = "UPDATE counter SET value = value + 1 WHERE name = ? RETURNING value"
    rows = await fetch(conn, take, ["order_number"])
    if not rows:
        await Counter.bulk_create([Counter(name="order_number", value=FIRST_ORDER_NUMBER - 1)],
                                  ignore_conflicts=True, using_db=conn)
        rows = await fetch(conn, take, ["order_number"])
    return str(rows[0]["value"])


async def _load_catalogue(
    conn: BaseDBAsyncClient, request: OrderRequest
) -> tuple[ChannelRoute, dict[str, OrderableVariant], list[Location]]:
    """The channel (with its price lists), the ordered variants (with their prices) and the
    candidate locations (active, in the channel's order), or every reason not. Read through
    the catalogue cache: on a warm cache this costs no statement (domain/catalog/cache.py
    says how changes reach it). Whether each line has a price is decided once the buyer is
    known (``price_lines``)."""
    errors: list[DomainError] = []
    route = await catalogue_cache.channel(conn, request.channel)
    channel = route.channel if route is not None else None
    if channel is None:
        errors.append(UnknownChannel(request.channel, field=("channel",)))
    skus = list(dict.fromkeys(line.sku for line in request.lines))
    orderable = await catalogue_cache.variants(conn, skus)
    variants = {sku: found.variant for sku, found in orderable.items()}
    for i, line in enumerate(request.lines):
        variant = variants.get(line.sku)
        if variant is None:
            errors.append(UnknownSku(line.sku, field=("lines", str(i), "sku")))
        elif orderable[line.sku].archived:
            errors.append(VariantArchived(line.sku, field=("lines", str(i), "sku")))
    locations: list[Location] = []
    if route is not None:
        locations = list(route.locations)
        if request.pickup_location is not None:
            pickup = next((loc for loc in locations if loc.code == request.pickup_location), None)
            if pickup is None:
                errors.append(UnknownLocation(request.pickup_location, field=("pickupLocation",)))
            elif not pickup.pickup_enabled:
                errors.append(InvalidInput(f"{pickup.code} does not offer pickup",
                                           field=("pickupLocation",)))
            locations = [pickup] if pickup else []
    raise_all(errors)
    assert route is not None
    return route, orderable, locations


async def _reserve(
    conn: BaseDBAsyncClient, demands: list[Demand], locations: list[Location], *,
    destination: Destination | None, reference: str, actor: str, hold_if_short: bool = False,
    defer: bool = False, levels: dict[tuple[int, int], StockLevel] | None = None,
    ensured: bool = False,
) -> tuple[Plan, dict[tuple[int, int], StockLevel], list[StockMovement],
           GuardedReservation | None]:
    """Lock the candidate rows, plan from exact numbers, then reserve with guarded updates.

    A shortfall raises InsufficientStock per SKU; with ``hold_if_short`` it reserves
    nothing and returns the plan, whose shortfalls say why. The reservations' ledger
    rows come back for the order's batch insert. With ``defer`` the guarded statement is
    returned, not sent: the caller sends it in a statement of its own and settles it
    (``_settle``). Given ``levels``, the rows are locked already (``locking_levels``);
    ``ensured``: the backorderable variants' rows exist already (``_ensure_backorderable``).
    """
    location_ids = [loc.id for loc in locations]
    if not ensured:
        await _ensure_backorderable(conn, demands, location_ids)
    if levels is None:
        levels = await lock_levels(conn, [d.variant_id for d in demands], location_ids)
    plan = plan_reservations(
        demands,
        [Candidate(loc.id, loc.code, loc.priority, (loc.address or {}).get("country"),
                   loc.latitude, loc.longitude, rank) for rank, loc in enumerate(locations)],
        {key: level.available for key, level in levels.items()},
        destination,
    )
    if plan.shortfalls:
        if hold_if_short:
            return Plan(shortfalls=plan.shortfalls, reason=plan.reason), levels, [], None
        raise_all([InsufficientStock(d.sku, d.quantity, available, field=("lines",))
                   for d, available in plan.shortfalls])
    holds = [Hold(levels[(r.variant_id, r.location_id)], r.quantity, r.backordered > 0)
             for r in plan.reservations]
    movements = [reservation_movement(hold, reference=reference, actor=actor) for hold in holds]
    pending = guarded_reservation(holds, arrays=is_postgres(conn))
    if pending is not None and not defer:
        rows = await fetch(conn, pending.sql, pending.params)
        _settle(pending, [int(row["id"]) for row in rows], levels, demands)
        pending = None
    return plan, levels, movements, pending


async def _ensure_backorderable(conn: BaseDBAsyncClient, demands: list[Demand],
                                location_ids: list[int]) -> None:
    """The stock rows backorderable variants reserve on, created empty where missing."""
    backorderable = [d.variant_id for d in demands if d.backorderable]
    if backorderable and location_ids:
        await ensure_levels(conn, [(vid, lid) for vid in backorderable for lid in location_ids])


def _settle(reservation: GuardedReservation, done: Sequence[int],
            levels: Mapping[tuple[int, int], StockLevel], demands: list[Demand]) -> None:
    """Settle a guarded reservation sent; a refused row raises InsufficientStock (the
    caller's transaction rolls back). It cannot happen while the rows are locked: refuse
    rather than oversell."""
    refused = reservation.settle(done)
    if refused:
        short = {key[0]: level for key, level in levels.items() if level.id in refused}
        raise_all([InsufficientStock(d.sku, d.quantity, max(short[d.variant_id].available, 0),
                                     field=("lines",))
                   for d in demands if d.variant_id in short])


async def reserve_demands(
    conn: BaseDBAsyncClient, demands: list[Demand], locations: list[Location], *,
    destination: Destination | None, reference: str, actor: str,
) -> tuple[Plan, dict[tuple[int, int], StockLevel], list[StockMovement]]:
    """Routing and the guarded reservation of capture, for units added to a placed order
    (an edit): InsufficientStock per short SKU, nothing reserved then."""
    plan, levels, movements, _ = await _reserve(conn, demands, locations,
                                                destination=destination, reference=reference,
                                                actor=actor)
    return plan, levels, movements


def _split_by_line(
    lines: Sequence[OrderLine], plan: Plan
) -> list[tuple[OrderLine, int, int]]:
    """Share each variant's reservations out over its lines: (line, location, units)."""
    pools: dict[int, list[list[int]]] = defaultdict(list)
    for r in plan.reservations:
        pools[r.variant_id].append([r.location_id, r.quantity])
    shares: list[tuple[OrderLine, int, int]] = []
    for line in lines:
        need = line.quantity
        for pool in pools.get(line.variant_id or 0, []):
            if need == 0:
                break
            units = min(need, pool[1])
            if units:
                shares.append((line, pool[0], units))
                pool[1] -= units
                need -= units
    return shares


async def _existing_by_external_id(channel_code: str, external_id: str | None,
                                   scope: Scope | None) -> Order | None:
    """The order already placed with this externalId; one the caller may not read is not
    returned but refused, so nobody obtains another buyer's order by naming its id."""
    if external_id is None:
        return None
    found = await Order.get_or_none(channel__code=channel_code, external_id=external_id)
    if found is None or scope is None or await scope.query(Order).filter(id=found.id).exists():
        return found
    raise Duplicate("Order with externalId", external_id, field=("externalId",))


def _own_terms(request: OrderRequest, scope: Scope | None) -> bool:
    """Whether the buyer's own terms (their group's prices, their tax exemption) price the
    order: the signed-in customer's own order, or one the shop's side places (staff,
    partners, drafts, imports). A storefront's or a guest's order naming someone's email is
    linked to that customer for the merchant, but priced and taxed like anyone's."""
    if request.via_account or scope is None:
        return True
    caller = scope.principal
    return caller is not None and caller.kind in (Kind.ADMIN, Kind.STAFF, Kind.PARTNER)


async def create_order(
    *, request: OrderRequest, actor: str, idempotency: IdempotencyKey | None = None,
    carriers: Mapping[str, Carrier] | None = None, scope: Scope | None = None,
    taxes: TaxProvider | None = None,
    claim: Callable[[BaseDBAsyncClient], Awaitable[None]] | None = None,
    then: Callable[[BaseDBAsyncClient, Order], Awaitable[None]] | None = None,
    screening: Screening | None = None,
) -> Order:
    """Place an order: prices from the catalogue, tax from ``taxes`` (the merchant's rate
    table by default: domain/orders/pricing.py), stock reserved at routed locations.

    ``claim`` runs first in the order's transaction (a marketplace marks its
    delivery processed there), so a refused order leaves no trace of it either;
    ``then`` runs last in it, with the order written (a draft links its order there).

    Raises every validation problem at once, InsufficientStock for each short
    SKU (naming what is available), and writes nothing when it raises. An
    order whose externalId already exists on the channel is returned as is when
    ``scope`` (the caller, when the caller is limited) may read it, else Duplicate.
    A ``customerId`` must name a customer the caller may read.

    With ``company_id`` (B2B), the company must be one the caller may read; its row is
    locked in the order's transaction (``companies.terms_for_order``: active, the customer
    its contact, a PO number where required), the lines are priced at its price list, its
    tax exemption applies, the order records its payment terms and due date, and the
    credit limit is checked before anything is written (CREDIT_LIMIT_EXCEEDED).

    With ``screening``, the risk rules score the order before it is written (a few
    statements: domain/risk/screening.py); one scoring at or above the merchant's
    threshold is placed ON_HOLD with a risk hold, its stock reserved all the same.
    """
    clean = _validate(request)
    if scope is not None and request.customer_id is not None \
            and not await scope.query(Customer).filter(id=request.customer_id).exists():
        raise NotFound("Customer", str(request.customer_id), field=("customerId",))
    if scope is not None and request.company_id is not None \
            and not await scope.query(Company).filter(id=request.company_id).exists():
        raise NotFound("Company", str(request.company_id), field=("companyId",))
    existing = await _existing_by_external_id(request.channel, clean.external_id, scope)
    if existing is not None:
        return existing

    async def run(conn: BaseDBAsyncClient) -> Order:
        if claim is not None:
            await claim(conn)
        route, orderable, locations = await _load_catalogue(conn, request)
        channel = route.channel
        variants = {sku: found.variant for sku, found in orderable.items()}
        # Screened by email, the customer's statement locks the buyer's keys too.
        locks = await buyer_locks(conn, screening, email=clean.email,
                                  shipping_address=clean.shipping_address) \
            if screening is not None and clean.email is not None \
            and request.customer_id is None else None
        customer, locked = await customer_for_order(
            conn, customer_id=request.customer_id, email=clean.email,
            name=(clean.shipping_address or {}).get("name"), locks=locks)
        if screening is not None:  # the buyer's keys, before any other row the order takes
            await lock_buyer(
                conn, screening, email=clean.email or (customer.email if customer else None),
                customer_email=customer.email if customer else None,
                shipping_address=clean.shipping_address, held=locked)
        if customer is not None and not _own_terms(request, scope):
            customer = customer._replace(customer_group_id=None, tax_exempt=False,
                                         tax_number=None)
        currency = channel.currency
        terms = None
        if request.company_id is not None:  # locks the company's row till the end
            terms = await companies.terms_for_order(
                conn, company_id=request.company_id,
                customer_id=customer.id if customer else None, po_number=clean.po_number)
        prices = price_lines(request.lines, route, orderable, at=datetime.now(UTC),
                             buyer=Buyer(customer.customer_group_id if customer else None,
                                         terms.price_list_id if terms else None))
        if request.shipping_amount is not None:
            shipping = quantize(request.shipping_amount, currency)
        else:
            rate = quote_shipping(carriers or {}, clean.shipping_method, currency,
                                  pickup=request.pickup_location is not None)
            shipping = quantize(shipping_amount(rate), currency)
        pickup = locations[0].address if request.pickup_location else None
        voucher, discounts = await _discounts(conn, request, channel.code, currency, customer,
                                              prices, shipping)
        money = await price_order(
            conn, currency=currency, shipping=shipping - discounts.shipping, provider=taxes,
            given=request.tax,
            lines=[PricedLine(price.amount, ln.quantity, variants[ln.sku].tax_class,
                              ln.discount + discounts.lines[position])
                   for position, (ln, price)
                   in enumerate(zip(request.lines, prices, strict=True))],
            prices_include_tax=channel.prices_include_tax
            if request.prices_include_tax is None else request.prices_include_tax,
            exempt=(customer.tax_exempt if customer else False)
            or (terms is not None and terms.company.tax_exempt),
            where=destination(clean.shipping_address, pickup, clean.billing_address))
        if money.total >= MAX_AMOUNT:
            raise InvalidInput(f"An order's total must be below {MAX_AMOUNT:,f} {currency}",
                               field=("lines",))
        b2b: dict[str, Any] = {}
        if terms is not None:
            await companies.check_credit(conn, terms, total=money.total, currency=currency)
            b2b = {"company_id": terms.company.id,
                   "payment_terms": terms.company.payment_terms.value,
                   "payment_due_at": terms.due_at(companies.clock())}
        assessment: Assessment | None = None
        risk_keys: dict[str, Any] = {}
        demands = _demands(request.lines, variants)
        levels: dict[tuple[int, int], StockLevel] | None = None
        await _ensure_backorderable(conn, demands, [loc.id for loc in locations])
        if screening is not None:
            # The stock rows are locked in the statement that reads the buyer's history.
            screened = await screen(conn, screening, RiskFacts(
                email=clean.email or (customer.email if customer else None),
                customer_id=customer.id if customer else None,
                ip_address=screening.ip_address, card_fingerprint=screening.card_fingerprint,
                shipping_address=clean.shipping_address,
                billing_address=clean.billing_address, shipping_method=clean.shipping_method,
                total=money.total, currency=currency, channel=channel.code,
            ), channel_id=channel.id,
                beside=locking_levels([d.variant_id for d in demands],
                                      [loc.id for loc in locations]))
            assessment, keys = screened.assessment, screened.keys
            levels = levels_of(screened.beside) if screened.beside is not None else None
            risk_keys = {"client_ip": keys.ip_address, "card_fingerprint": keys.card_fingerprint,
                         "address_key": keys.address_key}
        held = assessment is not None and assessment.held
        order = Order(  # written with its number, once its status is known (_write_order)
            **risk_keys,
            risk_score=assessment.score if assessment else None,
            risk_reasons=[r.to_json() for r in assessment.reasons] if assessment else None,
            status=OrderStatus.ON_HOLD if held else OrderStatus.PENDING,
            hold_kind=HoldKind.RISK if held else None,
            hold_reason=RISK_HOLD_REASON if held else None,
            channel=channel, customer_id=customer.id if customer else None,
            email=clean.email or (customer.email if customer else None),
            currency=currency, **money.order_columns(),
            tax_number=_tax_number(customer, terms), **b2b,
            shipping_address=clean.shipping_address, billing_address=clean.billing_address,
            shipping_method=clean.shipping_method,
            pickup_location_id=locations[0].id if request.pickup_location else None,
            po_number=clean.po_number, external_id=clean.external_id,
            via_account=request.via_account,
        )
        plan, levels, movements, pending = await _reserve(
            conn, demands, locations, destination=_destination(clean.shipping_address),
            reference="", actor=actor, hold_if_short=request.hold_if_short, defer=True,
            levels=levels, ensured=True)
        if plan.shortfalls:
            short = ", ".join(f"{d.sku} ({d.quantity} ordered, {available} available)"
                              for d, available in plan.shortfalls)
            order.status = OrderStatus.ON_HOLD
            order.hold_kind = HoldKind.STOCK
            order.hold_reason = f"Not enough stock: {short}"[:500]
        if voucher is not None:  # its row stays locked to the commit: taken late
            await redeem(conn, voucher, customer_id=customer.id if customer else None)
        # Taken last, so the counter row is locked only for the end of the transaction; the
        # reservations ride in the statement that writes the order.
        kinds = _placed_event_types(plan, held_for_risk=held)
        reserved = await _write_order(conn, order, len(kinds), pending)
        if pending is not None:
            _settle(pending, reserved, levels, demands)
        for movement in movements:
            movement.reference = f"order:{order.id}"
        lines = [
            OrderLine(
                order_id=order.id, variant_id=variants[ln.sku].id, sku=ln.sku,
                name=variants[ln.sku].name, quantity=ln.quantity,
                **line_columns(priced.unit_price, priced.discount, tax), position=position,
                price_list_id=price.price_list_id, price_list_code=price.price_list_code,
                quantity_backordered=min(plan.backordered(variants[ln.sku].id), ln.quantity),
            )
            for position, (ln, price, (priced, tax)) in enumerate(
                zip(request.lines, prices, money.lines, strict=True))
        ]
        order.lines._set_result_for_query(lines)  # the answer shows them without a re-read
        given_discounts = _discount_rows(order, discounts)
        redemptions = [VoucherRedemption(voucher_id=voucher.id, order_id=order.id,
                                         customer_id=customer.id if customer else None)
                       ] if voucher is not None else []
        events = _placed_events(order, lines, plan, locations, kinds, order.event_seq,
                                actor=actor, assessment=assessment)
        outbox = [OutboxMessage(topic=order_topic(order.id), payload=event_payload(event))
                  for event in events]
        outbox += await stock_changed_messages(
            conn, [d.sku for d in demands], changed_rows=_changed_rows(plan, levels, demands,
                                                                       locations))
        # The lines, and the allocations naming them, go in the batch's one statement.
        await insert_family(conn, lines, "position", _allocations(lines, plan, levels),
                            movements, events, outbox, given_discounts, redemptions)
        if then is not None:
            await then(conn, order)
        metrics.count("orders_placed", channel=channel.code)
        return order

    try:
        return await idempotent(
            key=idempotency, operation="orderCreate", request=_fingerprint(request, clean),
            run=run, encode=lambda order: {"order": order.id},
            decode=lambda result: Order.get(id=result["order"]),
        )
    except IntegrityError:
        # A concurrent import of the same marketplace order won the unique (channel, externalId).
        existing = await _existing_by_external_id(request.channel, clean.external_id, scope)
        if existing is None:
            raise
        return existing


async def _discounts(conn: BaseDBAsyncClient, request: OrderRequest, channel: str,
                     currency: str, customer: OrderCustomer | None, prices: Sequence[Price],
                     shipping: Decimal
                     ) -> tuple[Voucher | None, Discounts]:
    """The order's discounts (domain/discounts/rules.py), from the automatic promotions
    kept in the process (no statement on a warm cache) and the voucher code's promotion
    (one statement to read it). VoucherInvalid when the code cannot be redeemed."""
    count = len(request.lines)
    none = Discounts([Decimal(0)] * count, Decimal(0), [])
    offers = await automatic_cache.get(conn) if request.apply_promotions else []
    voucher: Voucher | None = None
    offer: Offer | None = None
    if request.voucher_code is not None:
        voucher, offer = await voucher_offer(conn, request.voucher_code)
    if not offers and offer is None:
        return None, none
    basket = Basket(
        currency=currency, channel=channel,
        customer_group=customer.customer_group_id if customer else None, at=datetime.now(UTC),
        skus=[ln.sku for ln in request.lines], quantities=[ln.quantity for ln in request.lines],
        amounts=[quantize(p.amount * ln.quantity, currency) - ln.discount
                 for ln, p in zip(request.lines, prices, strict=True)],
        shipping=shipping)
    return voucher, discount_order(basket, offers, offer)


def _discount_rows(order: Order, discounts: Discounts) -> list[Any]:
    """What the order was given, each with its share per line (by position)."""
    return [OrderDiscount(order_id=order.id, promotion_id=a.offer.id, name=a.offer.name,
                          code=a.offer.code, target=a.offer.target, amount=a.amount,
                          lines=[{"position": pos, "amount": str(share)}
                                 for pos, share in sorted(a.lines.items())] or None)
            for a in discounts.applied]
def _tax_number(customer: Any, terms: companies.OrderTerms | None) -> str | None:
    """The exempt buyer's number: the company's when it is exempt, else the customer's."""
    if terms is not None and terms.company.tax_exempt:
        return terms.company.tax_number
    return customer.tax_number if customer and customer.tax_exempt else None


def _destination(address: Mapping[str, Any] | None) -> Destination | None:
    if not address:
        return None
    return Destination(address.get("country"), address.get("latitude"), address.get("longitude"))


def _demands(lines: Sequence[LineRequest], variants: Mapping[str, Variant]) -> list[Demand]:
    """Demand per tracked variant, summed over the lines that share it."""
    summed: dict[str, int] = defaultdict(int)
    for line in lines:
        if variants[line.sku].track_inventory:
            summed[line.sku] += line.quantity
    return [
        Demand(variants[sku].id, sku, quantity,
               variants[sku].backorder_policy is BackorderPolicy.CONTINUE)
        for sku, quantity in summed.items()
    ]


def _allocations(lines: list[OrderLine], plan: Plan,
                 levels: Mapping[tuple[int, int], StockLevel]) -> Linked:
    """The allocations of lines not written yet, each naming its line by position."""
    shares = _split_by_line(lines, plan)
    return Linked(
        rows=[Allocation(location_id=location_id, quantity=units,
                         stock_level_id=levels[(line.variant_id or 0, location_id)].id)
              for line, location_id, units in shares],
        field="order_line_id", keys=[line.position for line, _, _ in shares])


def _changed_rows(plan: Plan, levels: Mapping[tuple[int, int], StockLevel],
                  demands: list[Demand], locations: list[Location]) -> list[dict[str, Any]]:
    """The stock rows this order reserved on, locked and up to date, for low-stock alerts."""
    skus = {d.variant_id: d.sku for d in demands}
    codes = {loc.id: loc.code for loc in locations}
    keys = dict.fromkeys((r.variant_id, r.location_id) for r in plan.reservations)
    return [{"id": level.id, "on_hand": level.on_hand, "reserved": level.reserved,
             "safety_stock": level.safety_stock,
             "low_stock_threshold": level.low_stock_threshold,
             "low_stock_alerted": level.low_stock_alerted,
             "sku": skus[variant_id], "code": codes[location_id]}
            for variant_id, location_id in keys
            for level in [levels[(variant_id, location_id)]]]


# The order written with the next number from the counter (gapless: taken in the order's
# transaction); no row while the counter row does not exist yet.
_NUMBERED = ("number", "CAST(n.value AS TEXT)", "n")
_TAKE_NUMBER = ("n AS (UPDATE counter SET value = value + 1 WHERE name = 'order_number' "
                "RETURNING value)")


async def _write_order(conn: BaseDBAsyncClient, order: Order, events: int,
                       reservation: GuardedReservation | None = None) -> list[int]:
    """Write the new order with its number and room for its first ``events`` in its
    sequence (the last of them is ``order.event_seq``), and send ``reservation``: the ids
    of the stock rows it reserved on, for the caller to settle.

    On PostgreSQL one statement reserves, takes the number and writes the order.
    """
    order.event_seq = events
    if not is_postgres(conn):
        reserved = [] if reservation is None else [
            int(row["id"]) for row in await fetch(conn, reservation.sql, reservation.params)]
        order.number = await next_order_number(conn)
        await insert_rows(conn, [order])
        return reserved
    rows = await fetch(conn, *_order_statement(conn, order, reservation))
    reserved = list(rows[0]["reserved"])
    if rows[0]["id"] is None:  # the first order ever: the counter row does not exist yet
        await Counter.bulk_create([Counter(name="order_number", value=FIRST_ORDER_NUMBER - 1)],
                                  ignore_conflicts=True, using_db=conn)
        rows = await fetch(conn, *_order_statement(conn, order, None))  # reserved already
    order.pk, order.number = rows[0]["id"], str(rows[0]["number"])
    order._saved_in_db = True
    return reserved


def _order_statement(conn: BaseDBAsyncClient, order: Order,
                     reservation: GuardedReservation | None) -> tuple[str, list[Any]]:
    """The reservation (a CTE whose changes happen whether or not the order is written),
    the next number and the order: one row of the order's id and number (NULL when the
    counter row does not exist yet) and the ids of the rows reserved on."""
    sql, params = insert_sql(conn, [order], select_from=_NUMBERED)
    reserve, reserve_params = ("", []) if reservation is None else (
        f"r AS ({reservation.sql}), ", reservation.params)
    rows = "ARRAY(SELECT id FROM r)" if reservation is not None else "CAST(ARRAY[] AS BIGINT[])"
    return (f"WITH {reserve}{_TAKE_NUMBER}, o AS ({sql} RETURNING \"id\", \"number\") "
            f"SELECT (SELECT \"id\" FROM o) AS id, (SELECT \"number\" FROM o) AS number, "
            f"{rows} AS reserved", [*reserve_params, *params])


def _placed_event_types(plan: Plan, *, held_for_risk: bool = False) -> list[EventType]:
    kinds = [EventType.ORDER_PLACED]
    if plan.reservations:
        kinds.append(EventType.STOCK_RESERVED)
    if plan.shortfalls or held_for_risk:
        kinds.append(EventType.ORDER_ON_HOLD)
    return kinds


def _placed_events(
    order: Order, lines: list[OrderLine], plan: Plan, locations: list[Location],
    kinds: list[EventType], last_sequence: int, *, actor: str,
    assessment: Assessment | None = None,
) -> list[OrderEvent]:
    """The events of a new order, numbered up to ``last_sequence``, as ``record_order_event``
    would have written them one by one."""
    now = datetime.now(UTC)
    first = last_sequence - len(kinds) + 1

    def event(kind: EventType, actor: str, message: str,
              data: dict[str, Any] | None = None) -> OrderEvent:
        return OrderEvent(order_id=order.id, sequence=first + len(events), type=kind,
                          actor=actor, message=message, data=data, created_at=now)

    events: list[OrderEvent] = []

    events.append(event(
        EventType.ORDER_PLACED, actor,
        f"Order {order.number} placed: {len(lines)} line(s), "
        f"total {quantize(order.total, order.currency)} {order.currency}",
        {"risk": assessment.to_json()} if assessment else None))
    if plan.reservations:
        codes = {loc.id: loc.code for loc in locations}
        skus = {line.variant_id: line.sku for line in lines}
        merged: dict[tuple[int, int], list[int]] = {}
        for r in plan.reservations:  # a location's stock and its backorder: one entry
            units = merged.setdefault((r.variant_id, r.location_id), [0, 0])
            units[0] += r.quantity
            units[1] += r.backordered
        placed = ", ".join(
            f"{quantity} x {skus[variant]} at {codes[location]}"
            + (f" ({backordered} backordered)" if backordered else "")
            for (variant, location), (quantity, backordered) in merged.items()
        )
        events.append(event(
            EventType.STOCK_RESERVED, "system:routing", f"Reserved {placed}. Why: {plan.reason}.",
            {"reservations": [
                {"location": codes[r.location_id], "sku": skus[r.variant_id],
                 "quantity": r.quantity, "backordered": r.backordered}
                for r in plan.reservations]}))
    if assessment is not None and assessment.held and not plan.shortfalls:
        # The reasons are in the data (webhooks, staff), not the message customers read.
        events.append(event(EventType.ORDER_ON_HOLD, "system:risk",
                            f"Order {order.number} held for risk review",
                            {"holdKind": HoldKind.RISK.value, "risk": assessment.to_json()}))
    if plan.shortfalls:
        events.append(event(EventType.ORDER_ON_HOLD, actor,
                            f"Order {order.number} kept on hold, nothing reserved. "
                            f"{order.hold_reason}"))
    # numbered in the order written; the order's sequence made room for exactly these
    assert [e.type for e in events] == kinds, (kinds, [e.type for e in events])
    return events


def _fingerprint(request: OrderRequest, clean: _Clean) -> list[Any]:
    return [request.channel, [(ln.sku, ln.quantity) if ln.unit_price is None
                              else (ln.sku, ln.quantity, str(ln.unit_price))
                              for ln in request.lines],
            clean.email, request.customer_id, clean.shipping_address, clean.billing_address,
            clean.shipping_method, request.pickup_location, clean.po_number, clean.external_id,
            request.voucher_code,
            *([request.company_id] if request.company_id is not None else [])]
