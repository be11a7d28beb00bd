"""Which staff member the current request acts for, read by the writers of events and
ledger rows (their ``actor_staff_id`` column's default), set once per GraphQL operation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar

_acting_staff: ContextVar[int | None] = ContextVar("acting_staff", default=None)


def acting_staff_id() -> int | None:
    """The staff member behind the current operation; None for anyone else."""
    return _acting_staff.get()


@contextmanager
def acting_as(staff_id: int | None) -> Iterator[None]:
    token = _acting_staff.set(staff_id)
    try:
        yield
    finally:
        with suppress(ValueError):  # a subscription's generator may end in another context
            _acting_staff.reset(token)
