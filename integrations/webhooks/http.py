"""The HTTP webhook sender: one pooled client, a short timeout, no redirects, no proxies,
and connections opened only to addresses the URL policy allows."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable, Mapping
from typing import Any

import httpcore
import httpx

from domain.webhooks.ports import SendResult
from domain.webhooks.targets import TargetRefused, UrlPolicy


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """Resolves a host through the policy, which checks every address, then connects to
    one of those addresses. The URL is untouched, so Host, TLS SNI and the certificate
    check still use the name."""

    def __init__(self, policy: UrlPolicy) -> None:
        self.policy = policy
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(self.policy.addresses(host, port), timeout)
        except TargetRefused as refused:
            raise httpcore.ConnectError(f"refused by policy: {refused}") from refused
        except TimeoutError as slow:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from slow
        except OSError as unknown:
            raise httpcore.ConnectError(f"{host} does not resolve: {unknown}") from unknown
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._backend.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None  # the policy returns at least one address
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are not sent over unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: UrlPolicy, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(trust_env=False)
        # httpx takes no network backend of its own choosing: its connection pool is
        # replaced by one that connects through the policy (same limits as httpx's).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0,
            network_backend=CheckedBackend(policy))


class HttpWebhookSender:
    def __init__(self, policy: UrlPolicy, timeout: float = 10.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._client = httpx.AsyncClient(
            transport=CheckedTransport(policy, ssl_context), timeout=timeout,
            follow_redirects=False,
            trust_env=False, headers={"User-Agent": "oms-webhooks/1"})

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        try:
            response = await self._client.post(url, content=body, headers=dict(headers))
        except httpx.HTTPError as error:
            return SendResult(None, f"{type(error).__name__}: {error}"[:500])
        return SendResult(response.status_code)

    async def close(self) -> None:
        await self._client.aclose()
