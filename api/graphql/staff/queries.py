"""Staff queries: the signed-in member, the staff list, roles and sessions."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.node import register
from api.graphql.permissions import public, requires
from api.graphql.relay import Connection, from_global_id, id_page, window
from api.graphql.staff.types import StaffMember, StaffRole, StaffSession
from domain.staff import models, roles, sessions


async def _member(info: Info, pk: int) -> StaffMember | None:
    found = await info.context.scope.query(models.StaffMember).filter(id=pk).select_related(
        "role").first()
    return StaffMember.from_model(found) if found else None


@register("StaffMember", None)  # the read rule decides: managers see all, a member itself
async def _staff_node(info: Info, pk: int) -> StaffMember | None:
    return await _member(info, pk)


@strawberry.type
class StaffQueries:
    @strawberry.field(extensions=public(),
                      description="The signed-in staff member; null for anyone else.")
    async def staff_me(self, info: Info) -> StaffMember | None:
        principal = info.context.principal
        if principal is None or principal.staff_id is None:
            return None
        return await _member(info, principal.staff_id)

    @strawberry.field(extensions=requires(Permission.STAFF_MANAGE),
                      description="The shop's staff, oldest first.")
    async def staff_members(self, info: Info, first: int | None = None,
                            after: str | None = None, last: int | None = None,
                            before: str | None = None) -> Connection[StaffMember]:
        asked = window(int, first=first, after=after, last=last, before=before)
        query = info.context.scope.query(models.StaffMember).select_related("role")
        return await id_page(query, asked, newest_first=False, node=StaffMember.from_model)

    @strawberry.field(extensions=requires(Permission.STAFF_MANAGE),
                      description="The built-in roles and the shop's own.")
    async def staff_roles(self, info: Info) -> list[StaffRole]:
        return [StaffRole.from_model(r) for r in await roles.all_roles()]

    @strawberry.field(extensions=public(), description=(
        "Open sessions: the signed-in member's own, or (for those who manage staff) the "
        "member's named by staffId."))
    async def staff_sessions(self, info: Info, staff_id: strawberry.ID | None = None
                             ) -> list[StaffSession]:
        pk = None
        if staff_id is not None:
            decoded = from_global_id(staff_id, expect="StaffMember")
            if decoded is None:
                return []
            pk = decoded[1]
        principal = info.context.principal
        current = principal.session_id if principal is not None else None
        found = await sessions.open_sessions(info.context.scope, staff_id=pk)
        return [StaffSession.from_model(s, current_id=current) for s in found]
