"""The executor every operation runs with: strawberry's, with a memo per subscription event.

graphql-core memoizes the subfields it collects on an executor, keyed by the identity of
each execution's field list, and each event's executor is a copy sharing that memo. A
live audience (api/graphql/live.py) executes every event, and every follower's catch-up,
on copies of one executor: it kept an entry, and the field lists it pins, per execution
for as long as it had followers (a parcel followed for days grew without end). Each
event's executor gets a memo of its own, dropped with it.
"""

from __future__ import annotations

from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class Executor(StrawberryGraphQLCoreExecutionContext):
    def build_per_event_executor(self, payload: Any) -> Executor:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor  # type: ignore[return-value]
