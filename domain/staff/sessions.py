"""Staff sessions: opaque bearer tokens stored by digest, looked up on every request, so
that a revoked session, a deactivated member or a changed role counts at once, on every
process (the database is what they share)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from domain.access import Kind, Permission, Principal, Scope
from domain.errors import NotPermitted
from domain.secrets import token_digest
from domain.staff.models import StaffMember, StaffSession
from domain.staff.roles import permissions_of, require_may_grant

SESSION_LIFETIME = timedelta(hours=12)
TOKEN_PREFIX = "oms_staff_"


def looks_like_staff_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


async def open_session(member: StaffMember, *, address: str | None,
                       user_agent: str | None) -> tuple[str, StaffSession]:
    """A new session; its token is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session = await StaffSession.create(
        staff_id=member.id, digest=token_digest(token),
        address=address[:64] if address else None,
        user_agent=user_agent[:300] if user_agent else None,
        expires_at=datetime.now(UTC) + SESSION_LIFETIME)
    return token, session


def staff_principal(member: StaffMember, session: StaffSession) -> Principal:
    """The caller behind a staff session: its permissions are its role's."""
    return Principal(
        client=f"staff:{member.id}", actor=f"staff:{member.email}",
        permissions=permissions_of(member.role), kind=Kind.STAFF, staff_id=member.id,
        session_id=session.id, issued_at=int(session.created_at.timestamp()),
        expires_at=int(session.expires_at.timestamp()))


async def principal_for_token(token: str) -> Principal | None:
    """The staff member a bearer token signs in, if its session is open and they are
    active; one query."""
    session = await StaffSession.filter(
        digest=token_digest(token), revoked_at__isnull=True,
        expires_at__gt=datetime.now(UTC), staff__active=True,
    ).select_related("staff__role").first()
    if session is None:
        return None
    return staff_principal(session.staff, session)


async def open_sessions_among(session_ids: Iterable[int]) -> set[int]:
    """Which of these sessions still hold (for websockets, asked now and then): one query
    for all of them."""
    wanted = sorted(set(session_ids))
    if not wanted:
        return set()
    return {int(row[0]) for row in await StaffSession.filter(
        id__in=wanted, revoked_at__isnull=True, expires_at__gt=datetime.now(UTC),
        staff__active=True).values_list("id")}


async def open_sessions(scope: Scope, *, staff_id: int | None = None) -> list[StaffSession]:
    """The open sessions the caller may see: its own, or a member's for those who manage
    staff (``staff_id``)."""
    p = scope.principal
    mine = p.staff_id if p is not None else None
    wanted = staff_id if staff_id is not None else mine
    if wanted is None:
        return []
    return await scope.query(StaffSession).filter(
        staff_id=wanted, revoked_at__isnull=True, expires_at__gt=datetime.now(UTC),
    ).order_by("-id").limit(100)


async def revoke_session(scope: Scope, *, session_id: int) -> StaffSession:
    """End a session: one's own, or, for those who manage staff, another member's whose
    permissions they hold all of. The next request with its token is refused."""
    await scope.require(StaffSession, session_id, field="id")
    session = await StaffSession.get(id=session_id).select_related("staff__role")
    p = scope.principal
    assert p is not None  # require() found it: the caller is someone
    if session.staff_id != p.staff_id:
        if not p.allows(Permission.STAFF_MANAGE):
            raise NotPermitted("Only those who manage staff end others' sessions",
                               field=("id",))
        require_may_grant(p, permissions_of(session.staff.role), field=("id",))
    if session.revoked_at is None:
        session.revoked_at = datetime.now(UTC)
        await session.save(update_fields=["revoked_at"])
    return session


async def revoke_all(staff_id: int) -> None:
    await StaffSession.filter(staff_id=staff_id, revoked_at__isnull=True).update(
        revoked_at=datetime.now(UTC))

