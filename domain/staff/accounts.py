"""Staff members: the first owner, invitations, roles, deactivation, password resets,
signing in (argon2 password, then a TOTP code when the member turned it on).

Whoever manages staff (``staff:manage``) can only manage members whose permissions they
hold all of, and grant only roles within their own: a manager cannot touch an owner or
make one. The last active owner cannot be demoted or deactivated.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
from tortoise.expressions import Q

from domain import validation as v
from domain.access import Principal
from domain.customers.throttle import SignInThrottle, SignInThrottled
from domain.errors import DomainError, Duplicate, InvalidInput, NotFound, WrongCredentials
from domain.messaging.ports import EmailMessage, Mailer
from domain.secrets import SecretHasher, hash_secret, token_digest
from domain.staff import sessions
from domain.staff.models import StaffMember, StaffRole, StaffSession
from domain.staff.roles import OWNER, permissions_of, require_may_grant, role_by_code

MIN_PASSWORD = 12
CODE_LIFETIME = timedelta(hours=72)
TOTP_ISSUER = "OMS"
log = logging.getLogger(__name__)


__all__ = ["SignInThrottled", "SignedIn", "bootstrap_owner", "invite", "sign_in"]


class SecondFactorRequired(DomainError):
    def __init__(self) -> None:
        super().__init__("This account signs in with an authentication code as well",
                         field=("totpCode",))


class OwnerExists(DomainError):
    def __init__(self) -> None:
        super().__init__("An owner exists already; use --force to add another")


class LastOwner(DomainError):
    def __init__(self) -> None:
        super().__init__("The shop keeps at least one active owner", field=("id",))


@dataclass(frozen=True)
class SignedIn:
    member: StaffMember
    token: str
    session: StaffSession


def _password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= 200:
        raise InvalidInput(f"A password has {MIN_PASSWORD} to 200 characters",
                           field=("password",))
    return password


def _email(email: str) -> str:
    address = v.email(email, field=("email",))
    if address is None:
        raise InvalidInput("An email is required", field=("email",))
    return address


async def _member(member_id: int) -> StaffMember:
    member = await StaffMember.get_or_none(id=member_id).select_related("role")
    if member is None:
        raise NotFound("StaffMember", str(member_id), field=("id",))
    return member


async def _active_owners() -> int:
    return await StaffMember.filter(active=True, role__code=OWNER).count()


async def bootstrap_owner(*, email: str, password: str, name: str | None = None,
                          force: bool = False) -> StaffMember:
    """The first owner, from the command line. Refused once an active owner exists,
    unless forced."""
    address, name = _email(email), v.text(name, field=("name",))
    hashed = hash_secret(_password(password))
    role = await role_by_code(OWNER)
    if not force and await _active_owners():
        raise OwnerExists()
    if await StaffMember.exists(email=address):
        raise Duplicate("StaffMember", address, field=("email",))
    return await StaffMember.create(email=address, name=name, role_id=role.id,
                                    password_hash=hashed)


async def _send_code(member: StaffMember, *, mailer: Mailer, subject: str) -> None:
    """A one-time code to set the password with (staffPasswordSet)."""
    code = "sp_" + secrets.token_urlsafe(32)
    member.password_code_digest = token_digest(code)
    member.password_code_expires_at = datetime.now(UTC) + CODE_LIFETIME
    await member.save(update_fields=["password_code_digest", "password_code_expires_at"])
    try:
        await mailer.send(EmailMessage(
            to=member.email, subject=subject,
            text=f"Your code to set your staff password: {code}\n"
                 f"It works once, within {CODE_LIFETIME.days * 24} hours."))
    except Exception:  # the member can be sent another (staffPasswordReset)
        log.exception("could not send the staff password email to %s", member.email)


async def invite(*, actor: Principal, email: str, name: str | None, role: str,
                 mailer: Mailer) -> StaffMember:
    """A new member with a role the inviter may grant; an emailed code sets the password."""
    address, name = _email(email), v.text(name, field=("name",))
    chosen = await role_by_code(role)
    require_may_grant(actor, permissions_of(chosen))
    if await StaffMember.exists(email=address):
        raise Duplicate("StaffMember", address, field=("email",))
    member = await StaffMember.create(email=address, name=name, role_id=chosen.id)
    await _send_code(member, mailer=mailer, subject="You are invited to run the shop")
    member.role = chosen
    return member


async def _managed(actor: Principal, member_id: int) -> StaffMember:
    """A member the actor may manage: all of the member's permissions are the actor's."""
    member = await _member(member_id)
    require_may_grant(actor, permissions_of(member.role), field=("id",))
    return member


async def _keep_an_owner(member: StaffMember, *, new_role: StaffRole | None = None) -> None:
    leaving = member.active and member.role.code == OWNER and (
        new_role is None or new_role.code != OWNER)
    if leaving and await _active_owners() <= 1:
        raise LastOwner()


async def update(*, actor: Principal, member_id: int, role: str | None = None,
                 name: str | None = None) -> StaffMember:
    member = await _managed(actor, member_id)
    fields = []
    if name is not None:
        member.name = v.text(name, field=("name",))
        fields.append("name")
    if role is not None:
        chosen = await role_by_code(role)
        require_may_grant(actor, permissions_of(chosen))
        await _keep_an_owner(member, new_role=chosen)
        member.role_id, member.role = chosen.id, chosen
        fields.append("role_id")
    if fields:
        await member.save(update_fields=fields)
    return member


async def deactivate(*, actor: Principal, member_id: int) -> StaffMember:
    """The member can no longer sign in; their open sessions end at once."""
    member = await _managed(actor, member_id)
    await _keep_an_owner(member)
    member.active = False
    await member.save(update_fields=["active"])
    await sessions.revoke_all(member.id)
    return member


async def reactivate(*, actor: Principal, member_id: int) -> StaffMember:
    member = await _managed(actor, member_id)
    member.active = True
    await member.save(update_fields=["active"])
    return member


async def reset(*, actor: Principal, member_id: int, mailer: Mailer) -> StaffMember:
    """The member's password and authenticator are cleared, their sessions end, and an
    emailed code lets them set a new password (a lost password or device)."""
    member = await _managed(actor, member_id)
    member.password_hash = None
    member.totp_secret = member.totp_pending_secret = None
    member.totp_last_step = None
    await member.save(update_fields=["password_hash", "totp_secret", "totp_pending_secret",
                                     "totp_last_step"])
    await sessions.revoke_all(member.id)
    await _send_code(member, mailer=mailer, subject="Set a new staff password")
    return member


async def set_password(*, code: str, password: str, hasher: SecretHasher) -> StaffMember:
    """Set the password with an emailed code (an invitation or a reset); it works once."""
    hashed = await hasher.hash(_password(password))
    member = await StaffMember.get_or_none(password_code_digest=token_digest(code))
    expires = member.password_code_expires_at if member is not None else None
    if member is None or expires is None or expires < datetime.now(UTC):
        raise WrongCredentials("The code is unknown or expired")
    claimed = await StaffMember.filter(id=member.id, password_code_digest=token_digest(code)
                                       ).update(password_hash=hashed, password_code_digest=None,
                                                password_code_expires_at=None)
    if not claimed:
        raise WrongCredentials("The code is unknown or expired")
    await sessions.revoke_all(member.id)
    return await _member(member.id)


async def sign_in(*, email: str, password: str, totp_code: str | None, hasher: SecretHasher,
                  throttle: SignInThrottle, address: str, user_agent: str | None = None,
                  now: float | None = None) -> SignedIn:
    """A new session for an active member whose password (and code, when they turned
    TOTP on) is right. The same work whether or not the account exists. Failures are
    slowed like customers' (raises ``SignInThrottled`` while a delay runs)."""
    who = {"account": f"staff:{email}", "address": address}
    await throttle.begin(**who)  # a failure until it succeeds
    try:
        signed = await _sign_in(email=email, password=password, totp_code=totp_code,
                                hasher=hasher, address=address, user_agent=user_agent, now=now)
    except DomainError:
        await throttle.failed(**who)
        raise
    await throttle.succeeded(**who)
    return signed


async def _sign_in(*, email: str, password: str, totp_code: str | None, hasher: SecretHasher,
                   address: str, user_agent: str | None, now: float | None) -> SignedIn:
    member = await StaffMember.get_or_none(email=email.strip().lower()).select_related("role")
    if member is None or member.password_hash is None or not member.active:
        await hasher.matches_nothing(password)
        raise WrongCredentials()
    if not await hasher.matches(password, member.password_hash):
        raise WrongCredentials()
    if member.totp_secret is not None:
        if not totp_code:
            raise SecondFactorRequired()
        await _use_code(member, member.totp_secret, totp_code, now=now)
    token, session = await sessions.open_session(member, address=address,
                                                 user_agent=user_agent)
    return SignedIn(member=member, token=token, session=session)


def _step_of(secret: str, code: str, now: float) -> int | None:
    """The time step (the current one, or one either side for clock drift) whose code
    this is."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(datetime.fromtimestamp(now, UTC))
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code.strip()):
            return step
    return None


async def _use_code(member: StaffMember, secret: str, code: str, *,
                    now: float | None) -> None:
    """Accept a code once: its step must be later than the last accepted one, claimed in
    one guarded UPDATE so two requests with one code cannot both pass."""
    step = _step_of(secret, code, time.time() if now is None else now)
    if step is None:
        raise WrongCredentials("The authentication code is wrong")
    claimed = await StaffMember.filter(
        Q(id=member.id), Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step),
    ).update(totp_last_step=step)
    if not claimed:
        raise WrongCredentials("That authentication code was used already")
    member.totp_last_step = step


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    uri: str


async def totp_begin(*, staff_id: int) -> TotpSetup:
    """A new secret for the member's authenticator app; it counts once confirmed."""
    member = await _member(staff_id)
    secret = pyotp.random_base32()
    member.totp_pending_secret = secret
    await member.save(update_fields=["totp_pending_secret"])
    return TotpSetup(secret=secret, uri=pyotp.TOTP(secret).provisioning_uri(
        name=member.email, issuer_name=TOTP_ISSUER))


async def totp_confirm(*, staff_id: int, code: str, now: float | None = None) -> StaffMember:
    """Turn TOTP on with a code from the new secret: sign-ins ask for a code from now on."""
    member = await _member(staff_id)
    if member.totp_pending_secret is None:
        raise InvalidInput("Set up an authenticator first (staffTotpSetup)", field=("code",))
    await _use_code(member, member.totp_pending_secret, code, now=now)
    member.totp_secret, member.totp_pending_secret = member.totp_pending_secret, None
    await member.save(update_fields=["totp_secret", "totp_pending_secret"])
    return member


async def totp_disable(*, staff_id: int, code: str, now: float | None = None) -> StaffMember:
    """Turn TOTP off, proved with a current code."""
    member = await _member(staff_id)
    if member.totp_secret is None:
        raise InvalidInput("This account has no authenticator", field=("code",))
    await _use_code(member, member.totp_secret, code, now=now)
    member.totp_secret = None
    await member.save(update_fields=["totp_secret"])
    return member
