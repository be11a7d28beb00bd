"""Routing: which locations reserve which units of an order.

A pure function over what the caller locked and read, so the rules can be
tested on their own and read in one place:

1. One location that can serve the whole order wins (one shipment): among
   them the nearest to the shipping address when both have coordinates;
   without coordinates, one in the destination's country first; then by
   priority (lower first), then in the channel's order of its locations, then by code.
2. Otherwise the order is split: repeatedly take the location that can serve
   the most of what is still missing (fewest shipments), ties by the same
   preference.
3. Units still missing are backordered for variants that allow it (at the
   location already chosen for that variant, else the first chosen, else the
   preferred location), and are a shortfall for the others.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    location_id: int
    code: str
    priority: int
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    rank: int = 0  # its place in the channel's list of locations (channelUpdate sets it)


@dataclass(frozen=True)
class Destination:
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def _distance(c: Candidate, to: Destination | None) -> float | None:
    if to is None or None in (to.latitude, to.longitude, c.latitude, c.longitude):
        return None
    return distance_km(c.latitude, c.longitude, to.latitude, to.longitude)  # type: ignore[arg-type]


def preference(c: Candidate, to: Destination | None) -> tuple[int, float, int, int, str]:
    """Sort key: measured distance first, then same country, then priority and code."""
    km = _distance(c, to)
    if km is not None:
        return (0, km, c.priority, c.rank, c.code)
    same_country = to is not None and to.country is not None and c.country == to.country
    return (1 if same_country else 2, 0.0, c.priority, c.rank, c.code)


def _why(c: Candidate, to: Destination | None, rivals: int) -> str:
    km = _distance(c, to)
    if km is not None and rivals > 1:
        return f"{c.code} is the nearest ({km:.0f} km) of {rivals} locations that can serve " \
               "the whole order"
    if to is not None and to.country and c.country == to.country and rivals > 1:
        return f"{c.code} is in the destination country ({to.country}) and can serve the " \
               f"whole order (priority {c.priority})"
    return f"{c.code} can serve the whole order (priority {c.priority})"


@dataclass(frozen=True)
class Demand:
    variant_id: int
    sku: str
    quantity: int
    backorderable: bool


@dataclass(frozen=True)
class Reservation:
    variant_id: int
    location_id: int
    quantity: int
    backordered: int = 0


@dataclass
class Plan:
    reservations: list[Reservation] = field(default_factory=list)
    shortfalls: list[tuple[Demand, int]] = field(default_factory=list)  # (demand, available)
    reason: str = ""

    def backordered(self, variant_id: int) -> int:
        return sum(r.backordered for r in self.reservations if r.variant_id == variant_id)


def plan_reservations(
    demands: Sequence[Demand],
    candidates: Sequence[Candidate],
    available: Mapping[tuple[int, int], int],
    destination: Destination | None = None,
) -> Plan:
    """Decide where each demand is reserved. ``available`` is keyed by (variant, location)."""
    ordered = sorted(candidates, key=lambda c: preference(c, destination))
    rank = {c.location_id: i for i, c in enumerate(ordered)}

    def avail(variant_id: int, location_id: int) -> int:
        return max(available.get((variant_id, location_id), 0), 0)

    whole = [c for c in ordered if all(avail(d.variant_id, c.location_id) >= d.quantity
                                       for d in demands)]
    if whole:
        chosen = whole[0]
        return Plan(
            reservations=[Reservation(d.variant_id, chosen.location_id, d.quantity)
                          for d in demands],
            reason=_why(chosen, destination, len(whole)),
        )

    missing = {d.variant_id: d.quantity for d in demands}
    left = {key: avail(*key) for key in available}
    taken: dict[tuple[int, int], int] = {}
    used: list[Candidate] = []
    while True:
        def coverage(c: Candidate) -> int:
            return sum(min(need, max(left.get((v, c.location_id), 0), 0))
                       for v, need in missing.items())

        best = max(ordered, key=lambda c: (coverage(c), -rank[c.location_id]), default=None)
        if best is None or coverage(best) == 0:
            break
        used.append(best)
        for variant_id, need in missing.items():
            units = min(need, max(left.get((variant_id, best.location_id), 0), 0))
            if units:
                key = (variant_id, best.location_id)
                taken[key] = taken.get(key, 0) + units
                left[key] -= units
                missing[variant_id] = need - units

    plan = Plan(reservations=[Reservation(v, loc, q) for (v, loc), q in taken.items()])
    for demand in demands:
        short = missing[demand.variant_id]
        if not short:
            continue
        if not demand.backorderable:
            plan.shortfalls.append((demand, demand.quantity - short))
            continue
        home = next((loc for (v, loc) in taken if v == demand.variant_id), None)
        if home is None:
            home = used[0].location_id if used else (ordered[0].location_id if ordered else None)
        if home is None:
            plan.shortfalls.append((demand, 0))
            continue
        plan.reservations.append(Reservation(demand.variant_id, home, short, backordered=short))
    plan.reason = _why_split(plan, {c.location_id: c.code for c in ordered})
    return plan


def _why_split(plan: Plan, codes: dict[int, str]) -> str:
    """Each location named once; "split" only when more than one serves the order."""
    serving = list(dict.fromkeys(codes.get(r.location_id, str(r.location_id))
                                 for r in plan.reservations))
    short = "not enough stock anywhere for the whole order"
    if not serving:
        return f"{short}; no location holds any of it"
    if len(serving) == 1:
        backordered = any(r.backordered for r in plan.reservations)
        rest = "the rest backordered there" if backordered else "the rest is short"
        return f"{short}; {serving[0]} holds what there is, {rest}"
    return f"no single location can serve the whole order; split across {', '.join(serving)}"
