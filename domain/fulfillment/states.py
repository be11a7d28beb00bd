"""The shipment state machine, and carriers' words for each status."""

from __future__ import annotations

from domain.fulfillment.models import ShipmentStatus

S = ShipmentStatus

TRANSITIONS: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    S.PENDING: frozenset({S.LABEL_PURCHASED, S.IN_TRANSIT, S.READY_FOR_PICKUP, S.CANCELLED}),
    S.LABEL_PURCHASED: frozenset({S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED, S.EXCEPTION,
                                  S.CANCELLED}),
    S.READY_FOR_PICKUP: frozenset({S.PICKED_UP, S.CANCELLED}),
    S.IN_TRANSIT: frozenset({S.OUT_FOR_DELIVERY, S.DELIVERED, S.EXCEPTION,
                             S.RETURNED_TO_SENDER}),
    S.OUT_FOR_DELIVERY: frozenset({S.IN_TRANSIT, S.DELIVERED, S.EXCEPTION,
                                   S.RETURNED_TO_SENDER}),
    S.EXCEPTION: frozenset({S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED,
                            S.RETURNED_TO_SENDER}),
    S.DELIVERED: frozenset(),
    S.PICKED_UP: frozenset(),
    S.RETURNED_TO_SENDER: frozenset(),
    S.CANCELLED: frozenset(),
}

# Statuses in which the units have left the shelf (stock moved out of on hand).
DISPATCHED = frozenset({S.LABEL_PURCHASED, S.READY_FOR_PICKUP, S.IN_TRANSIT,
                        S.OUT_FOR_DELIVERY, S.DELIVERED, S.PICKED_UP, S.EXCEPTION,
                        S.RETURNED_TO_SENDER})
ARRIVED = frozenset({S.DELIVERED, S.PICKED_UP})

# Carriers' status words (lower case, any separator) mapped to ours.
ALIASES: dict[str, ShipmentStatus] = {
    **{status.value.lower(): status for status in ShipmentStatus},
    "pre_transit": S.LABEL_PURCHASED,
    "label_created": S.LABEL_PURCHASED,
    "accepted": S.IN_TRANSIT,
    "picked_up_by_carrier": S.IN_TRANSIT,
    "transit": S.IN_TRANSIT,
    "available_for_pickup": S.READY_FOR_PICKUP,
    "failure": S.EXCEPTION,
    "failed_attempt": S.EXCEPTION,
    "error": S.EXCEPTION,
    "return_to_sender": S.RETURNED_TO_SENDER,
    "returned": S.RETURNED_TO_SENDER,
    "cancelled": S.CANCELLED,
    "canceled": S.CANCELLED,
}


def can_transition(current: ShipmentStatus, target: ShipmentStatus) -> bool:
    return target in TRANSITIONS[current]


def normalise_status(word: str) -> ShipmentStatus | None:
    """Our status for a carrier's status word, or None when we do not know the word."""
    key = word.strip().lower().replace("-", "_").replace(" ", "_")
    return ALIASES.get(key)
