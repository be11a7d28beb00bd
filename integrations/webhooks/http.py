"""The HTTP webhook sender: one pooled client, a short timeout, no redirects."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from domain.webhooks.ports import SendResult


class HttpWebhookSender:
    def __init__(self, timeout: float = 10.0) -> None:
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                                         headers={"User-Agent": "oms-webhooks/1"})

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        try:
            response = await self._client.post(url, content=body, headers=dict(headers))
        except httpx.HTTPError as error:
            return SendResult(None, f"{type(error).__name__}: {error}"[:500])
        return SendResult(response.status_code)

    async def close(self) -> None:
        await self._client.aclose()
