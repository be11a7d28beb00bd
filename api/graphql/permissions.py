"""Every field states who may call it: ``public``, ``requires(Permission.X)``, or
``requires_any(...)`` for a mutation on several kinds of object (the domain then checks
the one permission of the object's kind).

Both also check the field's string arguments (api/graphql/arguments.py) once the
caller is allowed, so no resolver sees a NUL character or an over-long lookup.
"""

from __future__ import annotations

from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from api.auth import Permission
from api.graphql.arguments import ArgumentCheck
from api.graphql.errors import graphql_error


class Requires(BasePermission):
    def __init__(self, permission: Permission | None) -> None:
        self.permission = permission

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if self.permission is None:
            return True
        principal = info.context.principal
        if principal is None:
            raise graphql_error("Authentication required", "UNAUTHENTICATED")
        if not principal.allows(self.permission):
            raise graphql_error(f"Missing permission {self.permission.value}", "FORBIDDEN")
        return True


class RequiresAny(Requires):
    """A signed-in caller holding at least one of ``permissions``. The field's use case
    checks the permission of the object it is given (domain/access), so ``permission`` is
    None: no single permission decides the field."""

    def __init__(self, permissions: tuple[Permission, ...]) -> None:
        super().__init__(None)
        self.permissions = permissions

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal is None:
            raise graphql_error("Authentication required", "UNAUTHENTICATED")
        if not any(principal.allows(p) for p in self.permissions):
            raise graphql_error("Missing permission: one of "
                                + ", ".join(p.value for p in self.permissions), "FORBIDDEN")
        return True


def requires_any(*permissions: Permission) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[RequiresAny(permissions)], use_directives=False),
            ArgumentCheck()]


def requires(permission: Permission | None) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[Requires(permission)], use_directives=False),
            ArgumentCheck()]


def public() -> list[FieldExtension]:
    """Readable by anyone, anonymous storefronts included."""
    return requires(None)
