"""The request being served, as every log line and metric of this task sees it."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field

_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@dataclass
class RequestInfo:
    request_id: str
    operation: str | None = None  # the GraphQL root fields asked for, e.g. "orderCreate"
    caller: str | None = None  # the kind of caller: admin, partner, customer, ...
    extra: dict[str, str] = field(default_factory=dict)


current: ContextVar[RequestInfo | None] = ContextVar("oms_request", default=None)


def request_id(given: str | None) -> str:
    """The client's ``X-Request-ID`` when it is a sane one, else a new one."""
    if given and _SAFE_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def note(*, operation: str | None = None, caller: str | None = None) -> None:
    info = current.get()
    if info is None:
        return
    if operation is not None:
        info.operation = operation
    if caller is not None:
        info.caller = caller
