"""The typed GraphQL context of one request or websocket connection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from api.auth import Principal
from api.loaders import Loaders
from domain.access import Kind, Scope
from domain.application import Deps
from domain.idempotency.service import IdempotencyKey

if TYPE_CHECKING:  # (answers reads rate_key from here)
    from api.graphql.answers import Prepaid


def rate_key(principal: Principal | None, address: str) -> str:
    """Whose budget a request is charged to: the client, or the address of anonymous
    ones and of a storefront key's shoppers (the key is shared by all of them)."""
    if principal is not None:
        if principal.kind is Kind.STOREFRONT:
            return f"{principal.client}:{address}"
        return principal.client
    return f"anonymous:{address}"


@dataclass
class Context:
    request: Any
    response: Any
    principal: Principal | None
    services: Any
    tokens: Any = None
    idempotency_header: str | None = None
    connection_params: dict[str, Any] | None = None
    # The caller's address (api.addresses: forwarded headers only from trusted proxies).
    address: str = "unknown"
    # The points a remembered availability answer took before it turned stale
    # (api.graphql.answers.Prepaid): the cost extension does not take them again.
    prepaid: Prepaid | None = None
    _scope: Scope | None = field(default=None, init=False, repr=False)
    _loaders: Loaders | None = field(default=None, init=False, repr=False)

    @property
    def scope(self) -> Scope:
        """What the caller may read, built once (a websocket's caller is known after connect)."""
        if self._scope is None or self._scope.principal is not self.principal:
            self._scope = Scope(self.principal)
        return self._scope

    def forget_reads(self) -> None:
        """Drop what the loaders read: the next read goes to the database (a live event is
        executed long after the subscription's context was made)."""
        self._loaders = None

    @property
    def loaders(self) -> Loaders:
        """The request's loaders, built on first use; every one reads through the scope."""
        scope = self.scope
        if self._loaders is None or self._loaders.scope is not scope:
            self._loaders = Loaders(scope)
        return self._loaders

    @property
    def deps(self) -> Deps:
        """The use cases' dependencies (domain/application), as the app was started with."""
        deps: Deps = self.services.deps
        return deps

    def rate_key(self) -> str:
        return rate_key(self.principal, self.address)

    def actor(self) -> str:
        return self.principal.actor if self.principal else "anonymous"

    def idempotency(self, key: str | None) -> IdempotencyKey | None:
        """The key from the input, else from the ``Idempotency-Key`` header, scoped to the caller."""
        chosen = key if key is not None else self.idempotency_header
        if chosen is None:
            return None
        client = self.principal.client if self.principal else "anonymous"
        return IdempotencyKey(client=client, key=chosen)
