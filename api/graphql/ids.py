"""Turning global IDs from input into primary keys, with the error a user understands."""

from __future__ import annotations

from collections.abc import Sequence

from api.graphql.relay import from_global_id
from domain.errors import NotFound


def pk_of(gid: str, type_name: str, *, field: Sequence[str]) -> int:
    """The primary key behind a global ID of the given type; NotFound for anything else."""
    decoded = from_global_id(gid, expect=type_name)
    if decoded is None:
        raise NotFound(type_name, gid, field=field)
    return decoded[1]


def optional_pk(gid: str | None, type_name: str, *, field: Sequence[str]) -> int | None:
    return None if gid is None else pk_of(gid, type_name, field=field)
