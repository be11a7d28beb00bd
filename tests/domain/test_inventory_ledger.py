"""Whatever sequence of counts, adjustments and transfers runs, the ledger explains the stock."""

from __future__ import annotations

from contextlib import suppress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.inventory import service
from domain.inventory.models import StockLevel
from tests import factories
from tests.conftest import _truncate
from tests.domain.ledger import assert_ledger_matches

LOCATIONS = ["a", "b", "c"]
SKUS = ["S1", "S2"]

operations = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.sampled_from(SKUS), st.sampled_from(LOCATIONS),
                  st.integers(0, 50)),
        st.tuples(st.just("adjust"), st.sampled_from(SKUS), st.sampled_from(LOCATIONS),
                  st.integers(-30, 30)),
        st.tuples(st.just("transfer"), st.sampled_from(SKUS), st.sampled_from(LOCATIONS),
                  st.sampled_from(LOCATIONS), st.integers(1, 30)),
    ),
    max_size=25,
)


async def _apply(op: tuple) -> None:
    kind, sku, location, *rest = op
    if kind == "set":
        await service.set_stock(target=service.StockTarget(sku, location), on_hand=rest[0],
                                actor="test")
    elif kind == "adjust":
        await service.adjust_stock(target=service.StockTarget(sku, location), delta=rest[0],
                                   reason="test", actor="test")
    else:
        await service.transfer_stock(sku=sku, source=location, destination=rest[0],
                                     quantity=rest[1], actor="test")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
async def test_stock_always_equals_its_ledger(app: object, ops: list[tuple]) -> None:
    await _truncate()
    for code in LOCATIONS:
        await factories.location(code)
    for sku in SKUS:
        await factories.product(sku)
    for op in ops:
        # A refused change must leave no trace, which the check below proves.
        with suppress(DomainError):
            await _apply(op)
    await assert_ledger_matches()
    assert all(level.on_hand >= 0 for level in await StockLevel.all())
