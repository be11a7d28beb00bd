"""Customer accounts: registering, signing in, and refresh tokens that rotate on each use.

A refresh token used twice means it was stolen: every token of that customer is
revoked and they sign in again.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from domain import validation as v
from domain.customers.models import Customer, RefreshToken
from domain.errors import Duplicate, InvalidInput, WrongCredentials
from domain.secrets import SecretHasher, hash_secret, token_digest
from domain.uow import unit_of_work

REFRESH_LIFETIME = timedelta(days=30)
MIN_PASSWORD = 10


async def register(*, email: str, password: str, name: str | None = None,
                   hasher: SecretHasher) -> Customer:
    """Create an account, or give a password to the guest who ordered with this email."""
    address = v.email(email, field=("email",))
    if address is None:
        raise InvalidInput("An email is required", field=("email",))
    if not MIN_PASSWORD <= len(password) <= 200:
        raise InvalidInput(f"A password has {MIN_PASSWORD} to 200 characters",
                           field=("password",))
    name = v.text(name, field=("name",))
    hashed = await hasher.hash(password)
    async with unit_of_work() as conn:
        await Customer.bulk_create([Customer(email=address, name=name)], ignore_conflicts=True,
                                   using_db=conn)
        customer = await Customer.filter(email=address).select_for_update().using_db(conn).get()
        if customer.password_hash is not None:
            raise Duplicate("Account", address, field=("email",))
        customer.password_hash = hashed
        customer.name = customer.name or name
        await customer.save(using_db=conn)
    return customer


async def sign_in(*, email: str, password: str, hasher: SecretHasher) -> Customer:
    customer = await Customer.get_or_none(email=email.strip().lower())
    if customer is None or customer.password_hash is None:
        await hasher.matches(password, _DUMMY)  # the same work whether or not the account exists
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
        else:
            found.used_at = datetime.now(UTC)
            await found.save(update_fields=["used_at"], using_db=conn)
    if reused:
        raise WrongCredentials("The refresh token was already used: sign in again")
    customer = await Customer.get(id=found.customer_id)
    return customer, await issue_refresh_token(customer)


_DUMMY = hash_secret(secrets.token_urlsafe(16))
