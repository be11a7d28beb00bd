"""TOTP codes for staff sign-in, at fixed moments: a code is good for its step and one
either side (clock drift), once; anything older than the last one used is refused."""

from __future__ import annotations

import pyotp
import pytest

from domain.customers.throttle import SignInThrottle
from domain.errors import WrongCredentials
from domain.secrets import SecretHasher
from domain.staff import accounts
from integrations.throttle.memory import InMemoryFailureLog

T0 = 1_800_000_000.0  # a moment on a step boundary (divisible by 30)
PASSWORD = "a long staff password"


async def _owner_with_totp() -> tuple[pyotp.TOTP, int]:
    member = await accounts.bootstrap_owner(email="o@shop.test", password=PASSWORD)
    setup = await accounts.totp_begin(staff_id=member.id)
    totp = pyotp.TOTP(setup.secret)
    await accounts.totp_confirm(staff_id=member.id, code=totp.at(T0), now=T0)
    return totp, member.id


async def _sign_in(code: str, now: float) -> accounts.SignedIn:
    return await accounts.sign_in(
        email="o@shop.test", password=PASSWORD, totp_code=code, hasher=SecretHasher(1),
        throttle=SignInThrottle(InMemoryFailureLog()), address="203.0.113.9", now=now)


async def test_a_code_works_once_within_its_window(db: None) -> None:
    totp, _ = await _owner_with_totp()
    later = T0 + 300
    # One step behind the server's clock still works (drift), once.
    signed = await _sign_in(totp.at(later - 30), now=later)
    assert signed.token.startswith("oms_staff_")
    with pytest.raises(WrongCredentials, match="used already"):
        await _sign_in(totp.at(later - 30), now=later)
    # A newer step works; going back to an older one does not, even within the window.
    await _sign_in(totp.at(later), now=later)
    with pytest.raises(WrongCredentials):
        await _sign_in(totp.at(later - 30), now=later)
    # Two steps away is outside the window.
    with pytest.raises(WrongCredentials, match="wrong"):
        await _sign_in(totp.at(later + 90), now=later + 30)


async def test_the_confirming_code_cannot_sign_in(db: None) -> None:
    totp, _ = await _owner_with_totp()
    with pytest.raises(WrongCredentials, match="used already"):
        await _sign_in(totp.at(T0), now=T0)
    with pytest.raises(accounts.SecondFactorRequired):
        await accounts.sign_in(email="o@shop.test", password=PASSWORD, totp_code=None,
                               hasher=SecretHasher(1),
                               throttle=SignInThrottle(InMemoryFailureLog()),
                               address="203.0.113.9")


async def test_a_second_owner_is_refused_unless_forced(db: None) -> None:
    await accounts.bootstrap_owner(email="o@shop.test", password=PASSWORD)
    with pytest.raises(accounts.OwnerExists):
        await accounts.bootstrap_owner(email="p@shop.test", password=PASSWORD)
    second = await accounts.bootstrap_owner(email="p@shop.test", password=PASSWORD, force=True)
    assert second.email == "p@shop.test"
