"""Relay conventions: opaque global IDs, the Node interface, and keyset connections
paged forwards (``first``/``after``) and backwards (``last``/``before``)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry
from graphql import GraphQLError
from tortoise.models import Model
from tortoise.queryset import QuerySet

from api.graphql.errors import bad_request

T = TypeVar("T")
MAX_PK = 2**31 - 1  # PostgreSQL integer: no row has a key past it
M = TypeVar("M", bound=Model)
DEFAULT_PAGE = 20
MAX_PAGE = 100


@strawberry.interface(description="An object with an opaque global ID.")
class Node:
    id: strawberry.ID


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode())


def from_global_id(gid: str, *, expect: str | None = None) -> tuple[str, int] | None:
    """Decode a global ID; None when it is malformed, names another type or a key no row has."""
    try:
        type_name, _, raw = base64.urlsafe_b64decode(gid.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not 0 < int(raw) <= MAX_PK:
        return None
    if expect is not None and type_name != expect:
        return None
    return type_name, int(raw)


@strawberry.type(description="Where a page sits in its list (Relay's PageInfo).")
class PageInfo:
    has_next_page: bool = strawberry.field(description=(
        "More items follow this page; when paging backwards: the page ends before a cursor."))
    has_previous_page: bool = strawberry.field(description=(
        "More items precede this page; when paging forwards: the page starts after a cursor."))
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


@dataclass(frozen=True)
class Window:
    """The page a client asked for: ``size`` items after ``key``, or, backwards, before it."""

    size: int
    key: list[Any] | None
    backward: bool


def page_size(first: int | None, name: str = "first") -> int:
    if first is None:
        return DEFAULT_PAGE
    if not 0 < first <= MAX_PAGE:
        raise bad_request(f"'{name}' must be between 1 and {MAX_PAGE}")
    return first


def window(*types: Callable[[Any], Any], first: int | None, after: str | None,
           last: int | None = None, before: str | None = None) -> Window:
    """Read Relay's arguments: ``first``/``after`` page forwards, ``last``/``before`` backwards.

    The two directions do not mix: a client asking both gets BAD_REQUEST.
    """
    if (first is not None or after is not None) and (last is not None or before is not None):
        raise bad_request("Page with 'first' and 'after', or with 'last' and 'before', not both")
    if last is not None or before is not None:
        return Window(size=page_size(last, "last"), key=decode_cursor(before, *types,
                                                                      name="before"),
                      backward=True)
    return Window(size=page_size(first), key=decode_cursor(after, *types), backward=False)


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), default=str).encode()).decode()


def decode_cursor(cursor: str | None, *types: Callable[[Any], Any],
                  name: str = "after") -> list[Any] | None:
    """Decode a cursor whose key parts have the given types; None when absent."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(key, list) or len(key) != len(types):
            raise ValueError(cursor)
        parts = [kind(part) for kind, part in zip(types, key, strict=True)]
        # Integer parts are primary keys; text parts are compared in SQL, which refuses NUL.
        for part in parts:
            if (isinstance(part, int) and not 0 <= part <= MAX_PK) or (
                    isinstance(part, str) and "\x00" in part):
                raise ValueError(cursor)
        return parts
    except (binascii.Error, ValueError, TypeError, OverflowError):
        raise bad_request(f"'{name}' is not a cursor from this list") from None


def connection(
    rows: Sequence[Any], *, window: Window, key: Callable[[Any], Sequence[Any]],
    node: Callable[[Any], T],
) -> Connection[T]:
    """Build a page from ``size + 1`` rows fetched in reading order (the extra row tells
    more exist): list order forwards, the reverse of it backwards."""
    page = list(rows[:window.size])
    if window.backward:
        page.reverse()
    edges = [Edge(cursor=encode_cursor(key(row)), node=node(row)) for row in page]
    more, cursor_given = len(rows) > window.size, window.key is not None
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=cursor_given if window.backward else more,
            has_previous_page=more if window.backward else cursor_given,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


async def id_page(query: QuerySet[M], window: Window, *, newest_first: bool,
                  node: Callable[[M], T]) -> Connection[T]:
    """A page of a list kept in primary-key order, by keyset on the primary key."""
    descending = newest_first != window.backward  # the order rows are read in
    if window.key is not None:
        query = query.filter(**{"id__lt" if descending else "id__gt": window.key[0]})
    rows = await query.order_by("-id" if descending else "id").limit(window.size + 1)
    return connection(rows, window=window, key=lambda row: [row.id], node=node)


__all__ = ["Connection", "Edge", "GraphQLError", "Node", "PageInfo"]
