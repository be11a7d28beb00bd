"""Stock queries: availability per SKU for a channel."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import bad_request, code_for
from api.graphql.inventory.types import Availability
from api.graphql.permissions import public
from domain.errors import DomainError
from domain.inventory.availability import availability

MAX_SKUS = 100


@strawberry.type
class InventoryQueries:
    @strawberry.field(
        extensions=public(),
        description="Sellable units per SKU, at the locations serving the channel when given. "
        "Unknown SKUs are left out.",
    )
    async def availability(
        self, info: Info, skus: list[str], channel: str | None = None
    ) -> list[Availability]:
        if len(skus) > MAX_SKUS:
            raise bad_request(f"Ask for at most {MAX_SKUS} SKUs at once")
        try:
            rows = await availability(skus=skus, channel=channel,
                                      cache=info.context.services.cache)
        except DomainError as error:
            raise bad_request(f"{code_for(error).value}: {error.message}") from error
        return [Availability.from_domain(a) for a in rows]
