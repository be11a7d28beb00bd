"""Every field states who may call it: ``public`` or ``requires(Permission.X)``.

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


def requires(permission: Permission | None) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[Requires(permission)], use_directives=False),
            ArgumentCheck()]


def public() -> list[FieldExtension]:
    """Readable by anyone, anonymous storefronts included."""
    return requires(None)
