"""Where webhooks may go: one policy for subscribing and for every delivery.

A subscription's URL is checked when it is made (scheme, credentials, its host
literally and as resolved now), and again each time a connection is opened:
the name is resolved, every address checked, and only a checked address is
connected to, so a name that later resolves to an internal address (DNS
rebinding) reaches nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from domain.webhooks.addresses import address_of, host_refusal, refusal, url_problem
from domain.webhooks.ports import Resolver

log = logging.getLogger(__name__)

REFUSED = ("Give a public http(s) URL: addresses of this host, private networks and cloud "
           "metadata services are refused")


class TargetRefused(Exception):
    """A webhook host resolves to an address that webhooks may not reach."""


@dataclass
class UrlPolicy:
    resolver: Resolver
    allow_private: bool = False  # OMS_WEBHOOK_ALLOW_PRIVATE_URLS, for development only

    async def check(self, url: str) -> str | None:
        """What is wrong with a subscription's URL, in words for its owner, or None.

        A name that does not resolve yet is accepted: each delivery checks it again.
        """
        problem = url_problem(url)
        if problem is not None or self.allow_private:
            return problem
        parts = urlsplit(url)
        host = parts.hostname or ""
        reason = host_refusal(host)
        if reason is None and address_of(host) is None:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            try:
                reason = self._first_refusal(await self.resolver.resolve(host, port))
            except OSError:
                reason = None
        if reason is not None:
            log.info("webhook URL refused for %s: %s", host, reason)
            return REFUSED
        return None

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for a delivery, every one of them allowed.

        Raises TargetRefused when any address is not (a name resolving to both a
        public and a private address is refused whole), OSError when it does not resolve.
        """
        literal = address_of(host)
        if literal is not None:
            found = [str(literal)]  # 2130706433 and 0x7f.1 are connected to as they read
        else:
            reason = None if self.allow_private else host_refusal(host)
            if reason is not None:
                raise TargetRefused(f"{host}: {reason}")
            found = await self.resolver.resolve(host, port)
        if not found:
            raise OSError(f"{host} resolves to no address")
        if not self.allow_private:
            reason = self._first_refusal(found)
            if reason is not None:
                raise TargetRefused(f"{host}: {reason}")
        return found

    @staticmethod
    def _first_refusal(found: list[str]) -> str | None:
        for text in found:
            address = address_of(text)
            reason = "unreadable address" if address is None else refusal(address)
            if reason is not None:
                return f"{reason} {text}"
        return None
