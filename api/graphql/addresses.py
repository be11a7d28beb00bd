"""``addressValidate``: a storefront checks an address before checkout, by orderCreate's rule."""

from __future__ import annotations

import strawberry

from api.graphql.common import Address, AddressInput
from api.graphql.errors import UserError, user_errors
from api.graphql.permissions import public
from domain import addresses
from domain.errors import DomainError


@strawberry.type(description="The address as an order would store it, or why it is refused.")
class AddressValidatePayload:
    address: Address | None
    user_errors: list[UserError]


@strawberry.type
class AddressQueries:
    @strawberry.field(
        extensions=public(),
        description="Check and normalise an address with the rule orderCreate applies: "
                    "ISO 3166-1 country, ISO 3166-2 region, the country's postal code format. "
                    "A refused address is INVALID_ADDRESS naming the field (address.country).",
    )
    def address_validate(self, address: AddressInput) -> AddressValidatePayload:
        try:
            cleaned = addresses.normalise(address.to_dict(), field=("address",))
        except DomainError as error:
            return AddressValidatePayload(address=None, user_errors=user_errors(error))
        return AddressValidatePayload(address=Address.from_json(cleaned), user_errors=[])
