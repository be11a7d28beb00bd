"""Customer accounts: registering, signing in, and refresh tokens that rotate on each use.

A refresh token used twice means it was stolen: every token of that customer is
revoked, the sessions their access tokens hold open end, and they sign in again.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from domain import validation as v
from domain.customers.models import Customer, EmailVerification, RefreshToken
from domain.errors import Duplicate, InvalidInput, WrongCredentials
from domain.messaging.ports import EmailMessage, Mailer
from domain.secrets import SecretHasher, token_digest
from domain.uow import unit_of_work

REFRESH_LIFETIME = timedelta(days=30)
VERIFICATION_LIFETIME = timedelta(hours=24)
MIN_PASSWORD = 10
log = logging.getLogger(__name__)


async def register(*, email: str, password: str, name: str | None, mailer: Mailer,
                   hasher: SecretHasher) -> None:
    """Ask for an account. The address must be proved before the account exists: an
    emailed one-time code confirms it (``confirm_registration``). The answer and the work
    are the same whether or not the email is known, so registering tells nobody which
    addresses have accounts, and nobody takes over the history of a guest who ordered
    with an address that is not theirs."""
    address = v.email(email, field=("email",))
    if address is None:
        raise InvalidInput("An email is required", field=("email",))
    if not MIN_PASSWORD <= len(password) <= 200:
        raise InvalidInput(f"A password has {MIN_PASSWORD} to 200 characters",
                           field=("password",))
    name = v.text(name, field=("name",))
    hashed = await hasher.hash(password)
    existing = await Customer.get_or_none(email=address)
    if existing is not None and existing.password_hash is not None:
        message = EmailMessage(
            to=address, subject="You already have an account",
            text="Someone asked to create an account with this address, which has one "
                 "already. Sign in instead; if it was not you, nothing has changed.")
    else:
        token = "ev_" + secrets.token_urlsafe(32)
        await EmailVerification.create(email=address, digest=token_digest(token),
                                       password_hash=hashed, name=name,
                                       expires_at=datetime.now(UTC) + VERIFICATION_LIFETIME)
        message = EmailMessage(
            to=address, subject="Confirm your email address",
            text=f"Your code to confirm this address and create your account: {token}\n"
                 f"It works once, within {VERIFICATION_LIFETIME.seconds // 3600} hours.")
    try:
        await mailer.send(message)
    except Exception:  # the answer stays the same; the operator sees why in the log
        log.exception("could not send the registration email to %s", address)


async def confirm_registration(*, token: str) -> Customer:
    """Create the account that an emailed code proves, or give its password to the guest
    who ordered with that address. A code works once; an expired one is refused."""
    async with unit_of_work() as conn:
        found = await EmailVerification.filter(digest=token_digest(token)).select_for_update(
            ).using_db(conn).first()
        if found is None or found.expires_at < datetime.now(UTC):
            raise WrongCredentials("The confirmation code is unknown or expired")
        await EmailVerification.filter(email=found.email).using_db(conn).delete()
        await Customer.bulk_create([Customer(email=found.email, name=found.name)],
                                   ignore_conflicts=True, using_db=conn)
        customer = await Customer.filter(email=found.email).select_for_update().using_db(
            conn).get()
        if customer.password_hash is None:
            customer.password_hash = found.password_hash
            customer.name = customer.name or found.name
            await customer.save(using_db=conn)
            return customer
    raise Duplicate("Account", found.email, field=("token",))


async def sign_in(*, email: str, password: str, hasher: SecretHasher) -> Customer:
    customer = await Customer.get_or_none(email=email.strip().lower())
    if customer is None or customer.password_hash is None:
        await hasher.matches_nothing(password)
        raise WrongCredentials()
    if not await hasher.matches(password, customer.password_hash):
        raise WrongCredentials()
    return customer


async def issue_refresh_token(customer: Customer) -> str:
    token = "rt_" + secrets.token_urlsafe(32)
    await RefreshToken.create(customer=customer, digest=token_digest(token),
                              expires_at=datetime.now(UTC) + REFRESH_LIFETIME)
    return token


async def use_refresh_token(token: str) -> tuple[Customer, str]:
    """Trade a refresh token for its customer and a new refresh token."""
    async with unit_of_work() as conn:
        found = await RefreshToken.filter(digest=token_digest(token)).select_for_update().using_db(
            conn).first()
        if found is None or found.expires_at < datetime.now(UTC):
            raise WrongCredentials("The refresh token is unknown or expired")
        reused = found.used_at is not None
        if reused:  # revoke the whole family; committed before the refusal is raised
            await RefreshToken.filter(customer_id=found.customer_id).using_db(conn).delete()
            await Customer.filter(id=found.customer_id).using_db(conn).update(
                sessions_revoked_at=datetime.now(UTC))
        else:
            found.used_at = datetime.now(UTC)
            await found.save(update_fields=["used_at"], using_db=conn)
    if reused:
        raise WrongCredentials("The refresh token was already used: sign in again")
    customer = await Customer.get(id=found.customer_id)
    return customer, await issue_refresh_token(customer)


async def revoked_sessions(tokens: Iterable[tuple[int, float]]) -> set[tuple[int, float]]:
    """Which of these access tokens, each (customer id, issued at in epoch seconds), were
    revoked since they were issued, or belong to a customer who is gone: one query for
    all of them."""
    wanted = set(tokens)
    if not wanted:
        return set()
    revoked_at = dict(await Customer.filter(id__in=sorted({c for c, _ in wanted})).values_list(
        "id", "sessions_revoked_at"))
    return {(customer, issued) for customer, issued in wanted
            if customer not in revoked_at or (revoked_at[customer] is not None
                                             and issued <= revoked_at[customer].timestamp())}
