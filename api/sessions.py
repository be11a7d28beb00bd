"""A websocket session lasts as long as the token that opened it.

The connection is closed with code 4401 ("Unauthorized" in graphql-transport-ws, the
code a client answers by authenticating again) when the token expires, timed to its
``exp``, and when it is revoked: a partner's client revoked (``oms client revoke`` or
``oauthClientRevoke``), or a customer's sessions revoked (a refresh token replayed), or a staff session
revoked (signed out, ended by a manager, the member deactivated or reset).
Revocation is looked up every ``OMS_SESSION_CHECK_INTERVAL`` seconds, so it is noticed
within that bound, from whichever process or command revoked it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from api.auth import Principal
from domain.customers.accounts import sessions_revoked
from domain.partners.service import active_client
from domain.staff.sessions import session_open

CLOSE_CODE = 4401
log = logging.getLogger(__name__)


def watched(principal: Principal | None) -> bool:
    """Whether the session can end by itself (tokens do; the static admin token does not)."""
    return principal is not None and principal.expires_at is not None


async def revoked(principal: Principal) -> bool:
    if principal.session_id is not None:  # a staff session: revoked, or its member deactivated
        return not await session_open(principal.session_id)
    if principal.partner_id is not None:
        return await active_client(principal.partner_id) is None
    if principal.customer_id is not None and principal.issued_at is not None:
        return await sessions_revoked(customer_id=principal.customer_id,
                                      issued_at=principal.issued_at)
    return False


async def until_ended(principal: Principal, *, check_every: float,
                      clock: Callable[[], float] = time.time) -> str:
    """Return, with the reason, once the principal's token has expired or been revoked."""
    expires_at = principal.expires_at if principal.expires_at is not None else float("inf")
    while True:
        left = expires_at - clock()
        if left <= 0:
            return "Token expired"
        await asyncio.sleep(min(left, check_every))
        if clock() >= expires_at:
            return "Token expired"
        try:
            if await revoked(principal):
                return "Token revoked"
        except Exception:  # the database is away: ask again next time; exp still holds
            log.warning("could not check whether %s was revoked", principal.client,
                        exc_info=True)
