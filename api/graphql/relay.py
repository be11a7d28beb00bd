"""Relay conventions: opaque global IDs, the Node interface, and keyset connections."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from graphql import GraphQLError

from api.graphql.errors import bad_request

T = TypeVar("T")
MAX_PK = 2**31 - 1  # PostgreSQL integer: no row has a key past it
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


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if not 0 < first <= MAX_PAGE:
        raise bad_request(f"'first' must be between 1 and {MAX_PAGE}")
    return first


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), default=str).encode()).decode()


def decode_cursor(cursor: str | None, *types: Callable[[Any], Any]) -> list[Any] | None:
    """Decode an ``after`` cursor whose key parts have the given types; None when absent."""
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
        raise bad_request("'after' is not a cursor from this list") from None


def connection(
    rows: Sequence[Any], *, size: int, key: Callable[[Any], Sequence[Any]],
    node: Callable[[Any], T],
) -> Connection[T]:
    """Build a page from ``size + 1`` rows fetched in key order (the extra row tells more exist)."""
    page = list(rows[:size])
    edges = [Edge(cursor=encode_cursor(key(row)), node=node(row)) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > size,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


__all__ = ["Connection", "Edge", "GraphQLError", "Node", "PageInfo"]
