"""Admin mutations for partner apps' OAuth clients."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.errors import UserError, attempt, user_errors
from api.graphql.permissions import requires
from domain.catalog.models import Channel
from domain.errors import UnknownChannel
from domain.partners import models, service


@strawberry.type
class OAuthClient:
    client_id: str
    name: str
    scopes: list[str]
    channels: list[str] | None
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_model(cls, m: models.OAuthClient) -> OAuthClient:
        return cls(client_id=m.client_id, name=m.name, scopes=list(m.scopes),
                   channels=list(m.channels) if m.channels is not None else None,
                   created_at=m.created_at, revoked_at=m.revoked_at)


@strawberry.input
class OAuthClientCreateInput:
    name: str
    scopes: list[str]
    channels: list[str] | None = strawberry.field(
        default=None, description="Channel codes it is limited to; all channels when absent.")


@strawberry.type
class OAuthClientCreatePayload:
    client: OAuthClient | None
    client_secret: str | None = strawberry.field(description="Shown once; stored hashed.")
    user_errors: list[UserError]


@strawberry.type
class OAuthClientRevokePayload:
    client: OAuthClient | None
    user_errors: list[UserError]


@strawberry.type
class StorefrontKeyCreatePayload:
    key: str | None = strawberry.field(
        description="Publishable: embed it in a web page. It reads the catalogue and "
        "availability and places orders on its channel, nothing else.")
    user_errors: list[UserError]


@strawberry.type
class PartnerMutations:
    @strawberry.mutation(extensions=requires(Permission.ADMIN),
                         description="A publishable key for a storefront on one channel.")
    async def storefront_key_create(self, info: Info, channel: str) -> StorefrontKeyCreatePayload:
        found = await info.context.scope.query(Channel).get_or_none(code=channel)
        if found is None:
            return StorefrontKeyCreatePayload(key=None, user_errors=user_errors(
                UnknownChannel(channel, field=("channel",))))
        return StorefrontKeyCreatePayload(key=info.context.tokens.storefront_key(found.code),
                                          user_errors=[])

    @strawberry.mutation(extensions=requires(Permission.ADMIN),
                         description="Create a partner app's OAuth client (client credentials).")
    async def oauth_client_create(self, info: Info, input: OAuthClientCreateInput
                                  ) -> OAuthClientCreatePayload:
        created, errors = await attempt(service.create_client(
            name=input.name, scopes=input.scopes, channels=input.channels))
        if created is None:
            return OAuthClientCreatePayload(client=None, client_secret=None, user_errors=errors)
        client, secret = created
        return OAuthClientCreatePayload(client=OAuthClient.from_model(client),
                                        client_secret=secret, user_errors=[])

    @strawberry.mutation(extensions=requires(Permission.ADMIN),
                         description="Revoke a client: no new tokens; issued ones expire.")
    async def oauth_client_revoke(self, info: Info, client_id: str) -> OAuthClientRevokePayload:
        client, errors = await attempt(service.revoke_client(client_id=client_id))
        return OAuthClientRevokePayload(client=OAuthClient.from_model(client) if client else None,
                                        user_errors=errors)
