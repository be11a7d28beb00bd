"""taxRates, taxRatesSet, taxRatesDelete and customerTaxExemptionSet: the merchant's tax
set-up (permission taxes:manage)."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.common import TaxClass
from api.graphql.errors import UserError, attempt, bad_request
from api.graphql.ids import pk_of
from api.graphql.orders.types import Customer
from api.graphql.permissions import requires
from api.graphql.relay import to_global_id
from domain.addresses import country_code
from domain.customers.models import Customer as CustomerModel
from domain.errors import DomainError
from domain.money import plain
from domain.taxes import models, service


@strawberry.type
class TaxRate:
    id: strawberry.ID
    country: str
    region: str | None = strawberry.field(description="An ISO 3166-2 code; null: the "
                                                      "whole country.")
    tax_class: TaxClass
    rate: Decimal = strawberry.field(description="Percent: 19 is 19%.")
    name: str

    @classmethod
    def from_model(cls, m: models.TaxRate) -> TaxRate:
        return cls(id=to_global_id("TaxRate", m.id), country=m.country, region=m.region,
                   tax_class=m.tax_class, rate=plain(m.rate), name=m.name)


@strawberry.input
class TaxRateInput:
    country: str
    tax_class: TaxClass
    rate: Decimal
    region: str | None = None
    name: str | None = strawberry.field(default=None, description="As printed on receipts "
                                                                  "and invoices.")


@strawberry.input
class TaxRateKeyInput:
    country: str
    tax_class: TaxClass
    region: str | None = None


@strawberry.type
class TaxRatesSetPayload:
    tax_rates: list[TaxRate] = strawberry.field(default_factory=list)
    user_errors: list[UserError]


@strawberry.type
class TaxRatesDeletePayload:
    deleted: int = 0
    user_errors: list[UserError]


@strawberry.type
class CustomerTaxExemptionSetPayload:
    customer: Customer | None
    user_errors: list[UserError]


@strawberry.type
class TaxQueries:
    @strawberry.field(extensions=requires(Permission.TAXES_MANAGE),
                      description="The merchant's tax rates, by country, region and class.")
    async def tax_rates(self, info: Info, country: str | None = None) -> list[TaxRate]:
        query = info.context.scope.query(models.TaxRate)
        if country is not None:
            try:
                query = query.filter(country=country_code(country, field=("country",)))
            except DomainError as error:
                raise bad_request(error.message) from error
        rows = await query.order_by("country", "region", "tax_class").limit(service.MAX_RATES)
        return [TaxRate.from_model(row) for row in rows]


@strawberry.type
class TaxMutations:
    @strawberry.mutation(extensions=requires(Permission.TAXES_MANAGE),
                         description="Create or replace rates (one per country, region and "
                                     "class), all or none. Placed orders keep their tax.")
    async def tax_rates_set(self, info: Info, rates: list[TaxRateInput]) -> TaxRatesSetPayload:
        written, errors = await attempt(service.set_rates([
            service.RateSpec(country=r.country, region=r.region, tax_class=r.tax_class,
                             rate=r.rate, name=r.name) for r in rates]))
        return TaxRatesSetPayload(tax_rates=[TaxRate.from_model(r) for r in written or []],
                                  user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.TAXES_MANAGE),
                         description="Remove rates by their country, region and class.")
    async def tax_rates_delete(self, info: Info,
                               rates: list[TaxRateKeyInput]) -> TaxRatesDeletePayload:
        deleted, errors = await attempt(service.delete_rates(
            [(r.country, r.region, r.tax_class) for r in rates]))
        return TaxRatesDeletePayload(deleted=deleted or 0, user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.TAXES_MANAGE),
                         description="Make a customer tax-exempt (with their tax number) or "
                                     "not; their next orders are taxed accordingly.")
    async def customer_tax_exemption_set(
        self, info: Info, customer_id: strawberry.ID, exempt: bool,
        tax_number: str | None = None,
    ) -> CustomerTaxExemptionSetPayload:
        async def run() -> CustomerModel:
            pk = pk_of(customer_id, "Customer", field=("customerId",))
            await info.context.scope.require(CustomerModel, pk, field="customerId")
            return await service.set_exemption(customer_id=pk, exempt=exempt,
                                               tax_number=tax_number)

        customer, errors = await attempt(run())
        return CustomerTaxExemptionSetPayload(
            customer=Customer.from_model(customer) if customer else None, user_errors=errors)
