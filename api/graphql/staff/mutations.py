"""Staff mutations: signing in and out, sessions, TOTP, and managing staff and roles."""

from __future__ import annotations

import math
from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from api.auth import Permission, Principal
from api.graphql.errors import UserError, attempt, user_errors
from api.graphql.permissions import public, requires
from api.graphql.relay import from_global_id
from api.graphql.staff.types import (
    StaffMember,
    StaffPermission,
    StaffRole,
    StaffSession,
    to_permission,
)
from domain.errors import DomainError, NotFound, NotPermitted
from domain.staff import accounts, roles, sessions
from domain.staff.models import StaffMember as StaffMemberModel


@strawberry.input
class StaffSignInInput:
    email: str
    password: str
    totp_code: str | None = strawberry.field(
        default=None, description="From the authenticator app, when the member turned TOTP on.")


@strawberry.type
class StaffSignInPayload:
    staff: StaffMember | None
    token: str | None = strawberry.field(description=(
        "The session's bearer token, shown once; refused as soon as the session is revoked."))
    expires_at: datetime | None
    user_errors: list[UserError]


@strawberry.type
class StaffSignOutPayload:
    signed_out: bool
    user_errors: list[UserError]


@strawberry.type
class StaffSessionRevokePayload:
    session: StaffSession | None
    user_errors: list[UserError]


@strawberry.type
class StaffTotpSetupPayload:
    secret: str | None = strawberry.field(description="For an authenticator app (base32).")
    provisioning_uri: str | None = strawberry.field(description="otpauth:// URI, for a QR code.")
    user_errors: list[UserError]


@strawberry.type
class StaffPayload:
    staff: StaffMember | None
    user_errors: list[UserError]


@strawberry.input
class StaffPasswordSetInput:
    code: str = strawberry.field(description="From the invitation or reset email.")
    password: str


@strawberry.input
class StaffCreateInput:
    email: str
    name: str | None = None
    role: str = strawberry.field(description="A role's code: owner, manager, warehouse, "
                                 "customer_service, finance, or a custom role's.")


@strawberry.input
class StaffUpdateInput:
    id: strawberry.ID
    name: str | None = None
    role: str | None = None


@strawberry.input
class StaffRoleCreateInput:
    code: str
    name: str
    permissions: list[StaffPermission]


@strawberry.type
class StaffRoleCreatePayload:
    role: StaffRole | None
    user_errors: list[UserError]


def _me(info: Info) -> int:
    principal: Principal | None = info.context.principal
    if principal is None or principal.staff_id is None:
        raise NotPermitted("Sign in as a staff member first")
    return principal.staff_id


def _pk(gid: str, kind: str) -> int:
    decoded = from_global_id(gid, expect=kind)
    if decoded is None:
        raise NotFound(kind, gid, field=("id",))
    return decoded[1]


async def _staff(info: Info, member: StaffMemberModel) -> StaffMember | None:
    found = await info.context.scope.query(StaffMemberModel).filter(id=member.id
                                                                    ).select_related("role").first()
    return StaffMember.from_model(found) if found else None


async def _own(info: Info, run: object) -> StaffPayload:
    member, errors = await attempt(run)  # type: ignore[arg-type]
    if member is None:
        return StaffPayload(staff=None, user_errors=errors)
    return StaffPayload(staff=await _staff(info, member), user_errors=[])


@strawberry.type
class StaffMutations:
    @strawberry.mutation(extensions=public(), description=(
        "Sign in as a staff member: password, then the authentication code when TOTP is on. "
        "Returns a session token."))
    async def staff_sign_in(self, info: Info, input: StaffSignInInput) -> StaffSignInPayload:
        request = info.context.request
        agent = request.headers.get("user-agent") if request is not None else None
        try:
            signed = await accounts.sign_in(
                email=input.email, password=input.password, totp_code=input.totp_code,
                hasher=info.context.services.hasher, address=info.context.address,
                throttle=info.context.services.login_throttle, user_agent=agent)
        except accounts.SignInThrottled as throttled:
            raise GraphQLError(throttled.message, extensions={
                "code": "RATE_LIMITED", "retryAfter": math.ceil(throttled.retry_after)}
                ) from None
        except DomainError as error:
            return StaffSignInPayload(staff=None, token=None, expires_at=None,
                                      user_errors=user_errors(error))
        info.context.principal = sessions.staff_principal(signed.member, signed.session)
        return StaffSignInPayload(staff=StaffMember.from_model(signed.member), token=signed.token,
                                  expires_at=signed.session.expires_at, user_errors=[])

    @strawberry.mutation(extensions=public(), description="End this request's staff session.")
    async def staff_sign_out(self, info: Info) -> StaffSignOutPayload:
        principal = info.context.principal
        if principal is None or principal.session_id is None:
            return StaffSignOutPayload(signed_out=False, user_errors=user_errors(
                NotPermitted("Not signed in as a staff member")))
        _, errors = await attempt(sessions.revoke_session(info.context.scope,
                                                          session_id=principal.session_id))
        return StaffSignOutPayload(signed_out=not errors, user_errors=errors)

    @strawberry.mutation(extensions=public(), description=(
        "End a staff session: one's own, or another member's for those who manage staff."))
    async def staff_session_revoke(self, info: Info, id: strawberry.ID
                                   ) -> StaffSessionRevokePayload:
        async def run() -> StaffSession:
            session = await sessions.revoke_session(info.context.scope,
                                                    session_id=_pk(id, "StaffSession"))
            current = info.context.principal.session_id if info.context.principal else None
            return StaffSession.from_model(session, current_id=current)
        session, errors = await attempt(run())
        return StaffSessionRevokePayload(session=session, user_errors=errors)

    @strawberry.mutation(extensions=public(), description=(
        "Set the password with the emailed code of an invitation or a reset."))
    async def staff_password_set(self, info: Info, input: StaffPasswordSetInput
                                 ) -> StaffPayload:
        member, errors = await attempt(accounts.set_password(
            code=input.code, password=input.password, hasher=info.context.services.hasher))
        if member is None:
            return StaffPayload(staff=None, user_errors=errors)
        return StaffPayload(staff=StaffMember.from_model(member), user_errors=[])

    @strawberry.mutation(extensions=public(), description=(
        "Start turning TOTP on: a new secret for the signed-in member's authenticator app."))
    async def staff_totp_setup(self, info: Info) -> StaffTotpSetupPayload:
        async def run() -> accounts.TotpSetup:
            return await accounts.totp_begin(staff_id=_me(info))
        setup, errors = await attempt(run())
        if setup is None:
            return StaffTotpSetupPayload(secret=None, provisioning_uri=None, user_errors=errors)
        return StaffTotpSetupPayload(secret=setup.secret, provisioning_uri=setup.uri,
                                     user_errors=[])

    @strawberry.mutation(extensions=public(), description=(
        "Turn TOTP on with a code from the new secret; sign-ins ask for a code from then on."))
    async def staff_totp_confirm(self, info: Info, code: str) -> StaffPayload:
        async def run() -> StaffMemberModel:
            return await accounts.totp_confirm(staff_id=_me(info), code=code)
        return await _own(info, run())

    @strawberry.mutation(extensions=public(), description="Turn TOTP off, with a current code.")
    async def staff_totp_disable(self, info: Info, code: str) -> StaffPayload:
        async def run() -> StaffMemberModel:
            return await accounts.totp_disable(staff_id=_me(info), code=code)
        return await _own(info, run())

    @strawberry.mutation(extensions=requires(Permission.STAFF_MANAGE), description=(
        "Invite a staff member with a role you may grant; an emailed code sets the password."))
    async def staff_create(self, info: Info, input: StaffCreateInput) -> StaffPayload:
        return await _own(info, accounts.invite(
            actor=info.context.principal, email=input.email, name=input.name, role=input.role,
            mailer=info.context.services.mailer))

    @strawberry.mutation(extensions=requires(Permission.STAFF_MANAGE),
                         description="Change a staff member's name or role.")
    async def staff_update(self, info: Info, input: StaffUpdateInput) -> StaffPayload:
        async def run() -> StaffMemberModel:
            return await accounts.update(actor=info.context.principal,
                                         member_id=_pk(input.id, "StaffMember"),
                                         role=input.role, name=input.name)
        return await _own(info, run())

    @strawberry.mutation(extensions=requires(Permission.STAFF_MANAGE), description=(
        "The member can no longer sign in; their sessions end at once."))
    async def staff_deactivate(self, info: Info, id: strawberry.ID) -> StaffPayload:
        async def run() -> StaffMemberModel:
            return await accounts.deactivate(actor=info.context.principal,
                                             member_id=_pk(id, "StaffMember"))
        return await _own(info, run())

    @strawberry.mutation(extensions=requires(Permission.STAFF_MANAGE),
                         description="Let a deactivated member sign in again.")
    async def staff_reactivate(self, info: Info, id: strawberry.ID) -> StaffPayload:
        async def run() -> StaffMemberModel:
            return await accounts.reactivate(actor=info.context.principal,
                                             member_id=_pk(id, "StaffMember"))
        return await _own(info, run())

    @strawberry.mutation(extensions=requires(Permission.STAFF_MANAGE), description=(
        "Clear a member's password and authenticator, end their sessions, and email them a "
        "code to set a new password."))
    async def staff_password_reset(self, info: Info, id: strawberry.ID) -> StaffPayload:
        async def run() -> StaffMemberModel:
            return await accounts.reset(actor=info.context.principal,
                                        member_id=_pk(id, "StaffMember"),
                                        mailer=info.context.services.mailer)
        return await _own(info, run())

    @strawberry.mutation(extensions=requires(Permission.STAFF_MANAGE), description=(
        "A custom role from the permission list (only permissions you hold)."))
    async def staff_role_create(self, info: Info, input: StaffRoleCreateInput
                                ) -> StaffRoleCreatePayload:
        role, errors = await attempt(roles.create_role(
            actor=info.context.principal, code=input.code, name=input.name,
            permissions=[to_permission(p) for p in input.permissions]))
        return StaffRoleCreatePayload(role=StaffRole.from_model(role) if role else None,
                                      user_errors=errors)
