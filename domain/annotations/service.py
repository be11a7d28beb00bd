"""Changing the tags and metadata of an order, a customer or a product.

Each call checks the caller may change that kind of object and see that one (a hidden
object is NotFound), validates every value before writing, locks the object's row so
concurrent calls count against one limit, and writes in one transaction. Adding a tag
that is there, or removing one that is not, changes nothing: the calls are idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Subquery

from domain.access import Scope
from domain.access.scope import ANNOTATED
from domain.annotations.models import MetadataEntry, ObjectKind, Tag
from domain.errors import DomainError, InvalidInput, NotFound, raise_all
from domain.uow import unit_of_work

MAX_TAGS = 50  # per object
MAX_TAG_LENGTH = 100
MAX_KEYS = 100  # per object, public and private each
MAX_KEY_LENGTH = 256
MAX_VALUE_LENGTH = 2000


@dataclass(frozen=True)
class Target:
    """The object whose tags or metadata change."""

    kind: ObjectKind
    pk: int


@dataclass(frozen=True)
class MetadataItem:
    key: str
    value: str


def normalise_tag(tag: str, *, field: Sequence[str]) -> str:
    """A tag as stored: trimmed, inner whitespace collapsed to one space, case-folded."""
    if "\x00" in tag:
        raise InvalidInput("The NUL character is not allowed", field=field)
    cleaned = " ".join(tag.split()).casefold()
    if not cleaned:
        raise InvalidInput("A tag must not be blank", field=field)
    if len(cleaned) > MAX_TAG_LENGTH:
        raise InvalidInput(f"A tag has at most {MAX_TAG_LENGTH} characters", field=field)
    return cleaned


def normalise_tags(tags: Sequence[str], *, field: Sequence[str] = ("tags",)) -> list[str]:
    """Every tag normalised, each once, in the order given; every bad one reported."""
    if not tags:
        raise InvalidInput("Give at least one tag", field=field)
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"At most {MAX_TAGS} tags at once", field=field)
    found: list[str] = []
    errors: list[DomainError] = []
    for i, tag in enumerate(tags):
        try:
            found.append(normalise_tag(tag, field=(*field, str(i))))
        except DomainError as error:
            errors.append(error)
    raise_all(errors)
    return list(dict.fromkeys(found))


def _key(key: str, *, field: Sequence[str]) -> str:
    if "\x00" in key:
        raise InvalidInput("The NUL character is not allowed", field=field)
    cleaned = key.strip()
    if not cleaned:
        raise InvalidInput("A metadata key must not be blank", field=field)
    if len(cleaned) > MAX_KEY_LENGTH:
        raise InvalidInput(f"A metadata key has at most {MAX_KEY_LENGTH} characters",
                           field=field)
    return cleaned


def validate_items(items: Sequence[MetadataItem], *, field: Sequence[str] = ()
                   ) -> list[MetadataItem]:
    """Keys trimmed and non-blank, each once; values at most MAX_VALUE_LENGTH. An item's
    fields are named from the root of the ``input`` list, as for every input ("0", "key");
    the list as a whole is "input"."""
    whole = tuple(field) or ("input",)
    if not items:
        raise InvalidInput("Give at least one key", field=whole)
    if len(items) > MAX_KEYS:
        raise InvalidInput(f"At most {MAX_KEYS} keys at once", field=whole)
    cleaned: list[MetadataItem] = []
    seen: set[str] = set()
    errors: list[DomainError] = []
    for i, item in enumerate(items):
        try:
            key = _key(item.key, field=(*field, str(i), "key"))
            if key in seen:
                raise InvalidInput(f"The key {key!r} is given twice", field=(*field, str(i), "key"))
            if "\x00" in item.value:
                raise InvalidInput("The NUL character is not allowed",
                                   field=(*field, str(i), "value"))
            if len(item.value) > MAX_VALUE_LENGTH:
                raise InvalidInput(f"A metadata value has at most {MAX_VALUE_LENGTH} characters",
                                   field=(*field, str(i), "value"))
            seen.add(key)
            cleaned.append(MetadataItem(key, item.value))
        except DomainError as error:
            errors.append(error)
    raise_all(errors)
    return cleaned


def validate_keys(keys: Sequence[str], *, field: Sequence[str] = ("keys",)) -> list[str]:
    if not keys:
        raise InvalidInput("Give at least one key", field=field)
    if len(keys) > MAX_KEYS:
        raise InvalidInput(f"At most {MAX_KEYS} keys at once", field=field)
    found: list[str] = []
    errors: list[DomainError] = []
    for i, key in enumerate(keys):
        try:
            found.append(_key(key, field=(*field, str(i))))
        except DomainError as error:
            errors.append(error)
    raise_all(errors)
    return list(dict.fromkeys(found))


def objects_tagged(kind: ObjectKind, tag: str, *, field: Sequence[str] = ("tag",)) -> Subquery:
    """The ids of the objects of ``kind`` holding ``tag`` (normalised as stored), for a
    filter ``id__in=``: one lookup on the tag table's (kind, tag, object_id) index."""
    wanted = normalise_tag(tag, field=field)
    return Subquery(Tag.filter(kind=kind, tag=wanted).values("object_id"))


async def _lock(conn: BaseDBAsyncClient, target: Target) -> None:
    """Serialise changes to one object's tags and metadata (its own row, locked)."""
    model = ANNOTATED[target.kind][0]
    if await model.filter(pk=target.pk).select_for_update().using_db(conn).first() is None:
        raise NotFound(model.__name__, str(target.pk), field=("id",))


async def add_tags(*, scope: Scope, target: Target, tags: Sequence[str]) -> None:
    """Add tags to the object; those it has already are left as they are. More than
    MAX_TAGS on the object is INVALID_INPUT and adds none."""
    await scope.require_writable(target.kind, target.pk)
    wanted = normalise_tags(tags)
    async with unit_of_work() as conn:
        await _lock(conn, target)
        have = set(await Tag.filter(kind=target.kind, object_id=target.pk).using_db(conn)
                   .values_list("tag", flat=True))
        new = [t for t in wanted if t not in have]
        if len(have) + len(new) > MAX_TAGS:
            raise InvalidInput(f"An object has at most {MAX_TAGS} tags; it has {len(have)}",
                               field=("tags",))
        if new:
            await Tag.bulk_create([Tag(kind=target.kind, object_id=target.pk, tag=t)
                                   for t in new], using_db=conn)


async def remove_tags(*, scope: Scope, target: Target, tags: Sequence[str]) -> None:
    """Remove tags from the object; a tag it does not have is no error."""
    await scope.require_writable(target.kind, target.pk)
    unwanted = normalise_tags(tags)
    async with unit_of_work() as conn:
        await _lock(conn, target)
        await Tag.filter(kind=target.kind, object_id=target.pk, tag__in=unwanted
                         ).using_db(conn).delete()


async def update_metadata(*, scope: Scope, target: Target, items: Sequence[MetadataItem],
                          private: bool) -> None:
    """Set keys of the object's public (or private) metadata, adding those it lacks. More
    than MAX_KEYS keys on the object is INVALID_INPUT and sets none."""
    await scope.require_writable(target.kind, target.pk)
    given = validate_items(items)
    async with unit_of_work() as conn:
        await _lock(conn, target)
        rows = MetadataEntry.filter(kind=target.kind, object_id=target.pk, private=private)
        have = set(await rows.using_db(conn).values_list("key", flat=True))
        added = [item for item in given if item.key not in have]
        if len(have) + len(added) > MAX_KEYS:
            raise InvalidInput(f"An object has at most {MAX_KEYS} metadata keys; it has "
                               f"{len(have)}", field=("input",))
        for item in given:
            if item.key in have:
                await rows.filter(key=item.key).using_db(conn).update(value=item.value)
        if added:
            await MetadataEntry.bulk_create([
                MetadataEntry(kind=target.kind, object_id=target.pk, private=private,
                              key=item.key, value=item.value) for item in added], using_db=conn)


async def delete_metadata(*, scope: Scope, target: Target, keys: Sequence[str],
                          private: bool) -> None:
    """Delete keys of the object's public (or private) metadata; an absent key is no error."""
    await scope.require_writable(target.kind, target.pk)
    gone = validate_keys(keys)
    async with unit_of_work() as conn:
        await _lock(conn, target)
        await MetadataEntry.filter(kind=target.kind, object_id=target.pk, private=private,
                                   key__in=gone).using_db(conn).delete()
