"""Each GraphQL operation acts for its caller: a staff member's id is what the event and
ledger writers record (``domain/acting.py``), set here once for every resolver."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from domain.acting import acting_as


class ActingStaff(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        principal = getattr(self.execution_context.context, "principal", None)
        staff_id = principal.staff_id if principal is not None else None
        with acting_as(staff_id):
            yield
