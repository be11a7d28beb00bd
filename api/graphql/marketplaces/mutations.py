"""Connecting a marketplace channel (admin)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.errors import UserError, attempt
from api.graphql.permissions import requires
from domain.marketplaces import service


@strawberry.input
class MarketplaceConnectInput:
    channel: str = strawberry.field(description="A channel of kind MARKETPLACE.")
    provider: str = strawberry.field(description="shopify or amazon")
    webhook_secret: str | None = strawberry.field(
        default=None, description="Shopify: the app's client secret.")
    shop: str | None = strawberry.field(default=None, description="e.g. my-shop.myshopify.com")
    access_token: str | None = strawberry.field(
        default=None, description="Admin API token, to push stock (none: orders only).")
    location_id: str | None = strawberry.field(
        default=None, description="The marketplace location stock is pushed to (a GID).")
    buffer: int = strawberry.field(
        default=0, description="Sell at most this many units fewer than we have there.")
    refresh_token: str | None = strawberry.field(
        default=None, description="Amazon: the Login with Amazon refresh token.")
    client_id: str | None = None
    client_secret: str | None = None
    marketplace_id: str | None = strawberry.field(
        default=None, description="Amazon: e.g. A1PA6795UKMFR9 (amazon.de).")
    seller_id: str | None = strawberry.field(
        default=None, description="Amazon: the seller id, to push stock and shipments.")


@strawberry.type
class MarketplaceConnectPayload:
    channel: str | None
    webhook_path: str | None = strawberry.field(description="Where to send notifications.")
    user_errors: list[UserError]


@strawberry.type
class MarketplaceMutations:
    @strawberry.mutation(extensions=requires(Permission.ADMIN),
                         description="Connect a marketplace channel to its provider.")
    async def marketplace_connect(self, info: Info, input: MarketplaceConnectInput
                                  ) -> MarketplaceConnectPayload:
        connection, errors = await attempt(service.connect(
            channel=input.channel, provider=input.provider,
            settings={"webhookSecret": input.webhook_secret, "shop": input.shop,
                      "accessToken": input.access_token, "locationId": input.location_id,
                      "buffer": input.buffer, "refreshToken": input.refresh_token,
                      "clientId": input.client_id, "clientSecret": input.client_secret,
                      "marketplaceId": input.marketplace_id, "sellerId": input.seller_id}))
        if connection is None:
            return MarketplaceConnectPayload(channel=None, webhook_path=None, user_errors=errors)
        return MarketplaceConnectPayload(
            channel=input.channel,
            webhook_path=f"/webhooks/marketplaces/{input.provider}/{input.channel}"
            if input.provider == "shopify" else None,
            user_errors=[])
