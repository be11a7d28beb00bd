"""A live audience keeps nothing per event it executed, however long it lives.

graphql-core memoizes collected subfields on the executor that each event's executor is
copied from; the schema's executor, which every operation and each live audience (every
event and catch-up of its followers) runs with, gives each event a memo of its own.
"""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator
from typing import Any

from graphql import build_schema as build_sdl
from graphql import parse
from graphql.execution.collect_fields import CollectedFields

from api.graphql.executor import Executor
from api.graphql.live import Audience
from api.graphql.schema import build_schema

EVENTS = 300
SDL = "type Query { a: String } type Parcel { n: Int s: String } " \
      "type Subscription { parcel: Parcel }"


def _schema() -> Any:
    schema = build_sdl(SDL)

    async def events(*_: Any) -> AsyncIterator[dict[str, Any]]:
        for n in range(EVENTS):
            yield {"parcel": {"n": n, "s": "IN_TRANSIT"}}

    field = schema.subscription_type.fields["parcel"]
    field.subscribe = events
    field.resolve = lambda event, _info: event["parcel"]
    return schema


def _collected() -> int:
    gc.collect()
    return sum(isinstance(o, CollectedFields) for o in gc.get_objects())


def test_every_operation_of_the_api_runs_with_the_executor() -> None:
    assert build_schema().execution_context_class is Executor


async def test_a_live_audience_keeps_nothing_per_event_it_executed() -> None:
    executor = build_schema().execution_context_class.build(
        _schema(), parse("subscription { parcel { n s } }"))
    assert not isinstance(executor, list)
    audience = Audience("key", executor, schema=None, accepts=lambda _: True,
                        encode=json.dumps)
    texts = [await audience.payload({"parcel": {"n": n, "s": "OUT"}}) for n in range(10)]
    before = _collected()
    texts += [await audience.payload({"parcel": {"n": n, "s": "OUT"}})
              for n in range(10, EVENTS)]
    assert json.loads(texts[-1]) == {"data": {"parcel": {"n": EVENTS - 1, "s": "OUT"}}}
    assert _collected() <= before
