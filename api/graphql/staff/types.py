"""GraphQL types of staff accounts: StaffMember, StaffRole, StaffSession, the permissions."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from api.graphql.relay import Node, to_global_id
from domain.access import Permission
from domain.staff import models
from domain.staff.roles import permissions_of

# The domain's permissions as a GraphQL enum (ORDERS_READ for "orders:read"), always the
# same list.
_Permissions = Enum("StaffPermission", {p.name: p.value for p in Permission})  # type: ignore[misc]
StaffPermission: Any = strawberry.enum(
    _Permissions, description="What a role lets its members do; custom roles are made from these.")


def to_permission(value: Enum) -> Permission:
    return Permission(value.value)


@strawberry.type
class StaffRole:
    id: strawberry.ID
    code: str
    name: str
    built_in: bool
    permissions: list[StaffPermission]

    @classmethod
    def from_model(cls, m: models.StaffRole) -> StaffRole:
        return cls(id=to_global_id("StaffRole", m.id), code=m.code, name=m.name,
                   built_in=m.built_in,
                   permissions=[StaffPermission(p.value) for p in sorted(permissions_of(m))])


@strawberry.type
class StaffMember(Node):
    id: strawberry.ID
    email: str
    name: str | None
    active: bool
    role: StaffRole
    totp_enabled: bool = strawberry.field(description="Signs in with an authentication code too.")
    created_at: datetime

    @classmethod
    def from_model(cls, m: models.StaffMember) -> StaffMember:
        return cls(id=to_global_id("StaffMember", m.id), email=m.email, name=m.name,
                   active=m.active, role=StaffRole.from_model(m.role),
                   totp_enabled=m.totp_secret is not None, created_at=m.created_at)


@strawberry.type
class StaffSession:
    id: strawberry.ID
    address: str | None
    user_agent: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    current: bool = strawberry.field(description="The session of this request.")

    @classmethod
    def from_model(cls, m: models.StaffSession, *, current_id: int | None) -> StaffSession:
        return cls(id=to_global_id("StaffSession", m.id), address=m.address,
                   user_agent=m.user_agent, created_at=m.created_at, expires_at=m.expires_at,
                   revoked_at=m.revoked_at, current=m.id == current_id)
