"""Live events built and encoded once per process, whatever the number of subscribers.

Every subscriber of a topic in this process receives the same bus message. The first of
them to see it builds its GraphQL object (``shared_event``), which the others reuse, and
the first to send it under a given document, variables and caller encodes the payload
(``encoded_payload``), which the others send as is, with only their operation id around
it. While a subscription sends a live event, ``LIVE_EVENT`` holds its number;
replayed events, read per subscriber from the database, are not shared.
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from contextvars import ContextVar
from typing import Any

LIVE_EVENT: ContextVar[int | None] = ContextVar("live_event", default=None)
KEEP = 512  # recent events and payloads kept: a burst's, not a history


class _Recent(OrderedDict[Hashable, Any]):
    def remember(self, key: Hashable, value: Any) -> Any:
        self[key] = value
        if len(self) > KEEP:
            self.popitem(last=False)
        return value


_events = _Recent()
_payloads = _Recent()


_built = itertools.count(1)


def shared_event(topic: str, message: Mapping[str, Any],
                 build: Callable[[Mapping[str, Any]], Any]) -> tuple[int, Any]:
    """The event a bus message carries, built once per process, and the number this
    process gave it (what its encoded payloads are kept under)."""
    key = (topic, int(message["sequence"]))
    found = _events.get(key)
    if found is None or found[0] != message:  # a message unlike the one kept: not shared
        found = _events.remember(key, (dict(message), next(_built), build(message)))
    return found[1], found[2]


def encoded_payload(event: int, document: str, variables: Any,
                    operation_name: str | None, caller: Hashable,
                    payload: Mapping[str, Any], encode: Callable[[Any], str]) -> str:
    """A "next" payload as JSON text, encoded once per event, document, variables and
    caller (what a payload can depend on); extensions, per operation, are added each time."""
    key = (event, document, json.dumps(variables, sort_keys=True, default=str),
           operation_name, caller)
    text = _payloads.get(key)
    if text is None:
        text = _payloads.remember(key, encode({k: v for k, v in payload.items()
                                               if k != "extensions"}))
    if payload.get("extensions"):
        text = f'{text[:-1]},"extensions":{encode(payload["extensions"])}}}'
    return text
