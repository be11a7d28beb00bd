"""Every string argument checked before its resolver runs: no NUL, and no longer than its column.

PostgreSQL refuses the NUL character in text, and a lookup longer than the column it
searches cannot match (Tortoise refuses it outright). Both are the caller's mistake:
a mutation answers with INVALID_INPUT userErrors naming the field, anything else with
a BAD_REQUEST error, and nothing runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from inspect import isawaitable
from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.types import Info
from strawberry.types.base import has_object_definition
from strawberry.types.field import StrawberryField

from api.graphql.errors import ErrorCode, UserError, bad_request
from domain import validation as v
from domain.annotations.service import MAX_KEY_LENGTH
from domain.orders.notes import MAX_NOTE

# The longest value an argument or input field may hold, by its GraphQL name (or
# "<InputType>.<name>" where one name means two things): the column it is stored in
# or looked up by. Anything else is free text, checked again by the domain.
LIMITS: dict[str, int] = {
    **dict.fromkeys(("sku", "skus", "code", "channel", "channels", "location", "locations",
                     "from", "to", "pickupLocation", "shippingMethod", "carrier", "service",
                     "trackingNumber", "poNumber", "clientId", "deliveryId", "timeZone",
                     "barcode"),
                    v.MAX_CODE),
    "TrackingEventInput.location": v.MAX_NAME,
    "number": 32,
    "email": v.MAX_EMAIL,
    "emailContains": v.MAX_EMAIL,
    "externalId": 128,
    "idempotencyKey": v.MAX_IDEMPOTENCY_KEY,
    "role": v.MAX_CODE,  # a staff role's code
    "OrderNoteAddInput.message": MAX_NOTE,
    "CustomerNoteAddInput.message": MAX_NOTE,
    "MetadataInput.key": MAX_KEY_LENGTH,
}

Problem = tuple[tuple[str, ...], str]


def _limit(owner: str | None, name: str) -> int:
    return LIMITS.get(f"{owner}.{name}") or LIMITS.get(name) or v.MAX_TEXT


def text_problems(name: str, value: str, *, owner: str | None = None) -> list[str]:
    """What is wrong with one string given as ``name`` (also used by the CSV exports)."""
    found = []
    if "\x00" in value:
        found.append("The NUL character is not allowed")
    limit = _limit(owner, name)
    if len(value) > limit:
        found.append(f"At most {limit} characters are allowed")
    return found


def _problems(value: Any, path: tuple[str, ...], owner: str | None, name: str,
              info: Info) -> Iterator[Problem]:
    if isinstance(value, str):
        for message in text_problems(name, value, owner=owner):
            yield path, message
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _problems(item, (*path, str(i)), owner, name, info)
    elif has_object_definition(value):
        definition = value.__strawberry_definition__
        for field in definition.fields:
            graphql_name = info.schema.config.name_converter.get_graphql_name(field)
            yield from _problems(getattr(value, field.python_name, None), (*path, graphql_name),
                                 definition.name, graphql_name, info)


def _default(field: dataclasses.Field[Any]) -> Any:
    """A refused payload's field: its default (an empty list, a zero), else null."""
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


class ArgumentCheck(FieldExtension):
    """Refuses NUL characters and over-long strings anywhere in a field's arguments."""

    def apply(self, field: StrawberryField) -> None:
        self.field = field

    def problems(self, info: Info, kwargs: dict[str, Any]) -> list[Problem]:
        found: list[Problem] = []
        for argument in self.field.arguments:
            if argument.python_name not in kwargs:
                continue
            name = info.schema.config.name_converter.get_graphql_name(argument)
            # Userrors name fields inside `input` from its root, as the domain does.
            path = () if name == "input" else (name,)
            found += _problems(kwargs[argument.python_name], path, None, name, info)
        return found

    def refuse(self, problems: list[Problem]) -> Any:
        payload = self.field.type
        if isinstance(payload, type) and dataclasses.is_dataclass(payload) and any(
                f.name == "user_errors" for f in dataclasses.fields(payload)):
            values: dict[str, Any] = {f.name: _default(f) for f in dataclasses.fields(payload)
                                      if f.init}
            values["user_errors"] = [
                UserError(field=list(path) or None, code=ErrorCode.INVALID_INPUT, message=message)
                for path, message in problems
            ]
            return payload(**values)
        path, message = problems[0]
        raise bad_request(f"{'.'.join(path)}: {message}" if path else message)

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        problems = self.problems(info, kwargs)
        if problems:
            return self.refuse(problems)
        return next_(source, info, **kwargs)

    async def resolve_async(self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info,
                            **kwargs: Any) -> Any:
        problems = self.problems(info, kwargs)
        if problems:
            return self.refuse(problems)
        result = next_(source, info, **kwargs)
        return await result if isawaitable(result) else result
