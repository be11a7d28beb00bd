"""The typed GraphQL context of one request or websocket connection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.auth import Principal
from api.loaders import Loaders
from domain.idempotency.service import IdempotencyKey


@dataclass
class Context:
    request: Any
    response: Any
    principal: Principal | None
    services: Any
    tokens: Any = None
    idempotency_header: str | None = None
    connection_params: dict[str, Any] | None = None
    loaders: Loaders = field(default_factory=Loaders)
    # The caller's address (api.addresses: forwarded headers only from trusted proxies).
    address: str = "unknown"

    def rate_key(self) -> str:
        """Whose budget a request is charged to: the client, or the address of anonymous ones."""
        if self.principal is not None:
            return self.principal.client
        return f"anonymous:{self.address}"

    def actor(self) -> str:
        return self.principal.actor if self.principal else "anonymous"

    def idempotency(self, key: str | None) -> IdempotencyKey | None:
        """The key from the input, else from the ``Idempotency-Key`` header, scoped to the caller."""
        chosen = key if key is not None else self.idempotency_header
        if chosen is None:
            return None
        client = self.principal.client if self.principal else "anonymous"
        return IdempotencyKey(client=client, key=chosen)
