"""Company mutations: companyCreate/Update, companyLocationAdd/Remove,
companyContactAdd/Remove.

In companyUpdate a field left out changes nothing; ``null`` clears what may be empty (the
tax number, the credit limit: no limit then, the price list).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.common import AddressInput, given, run
from api.graphql.companies.enums import CompanyContactRole, PaymentTerms
from api.graphql.companies.types import Company, CompanyLocation
from api.graphql.errors import UserError, attempt
from api.graphql.ids import pk_of
from api.graphql.permissions import requires
from api.graphql.relay import to_global_id
from domain.companies import service
from domain.companies.models import Company as CompanyModel
from domain.companies.models import ContactRole
from domain.companies.service import UNSET

T = TypeVar("T")




def _company(found: CompanyModel | None) -> Company | None:
    return Company.from_model(found) if found is not None else None


@strawberry.input
class CompanyCreateInput:
    code: str
    name: str
    tax_exempt: bool = False
    tax_number: str | None = strawberry.field(
        default=None, description="Required when the company is tax-exempt.")
    payment_terms: PaymentTerms = PaymentTerms.DUE_ON_RECEIPT
    credit_limit: Decimal | None = strawberry.field(
        default=None, description="The most it may owe, a new order included; null: none.")
    credit_currency: str | None = strawberry.field(
        default=None, description="The credit limit's currency (ISO 4217).")
    po_required: bool = False
    price_list_id: strawberry.ID | None = strawberry.field(
        default=None, description="The list its contacts buy at (above their group's).")
    active: bool = True


@strawberry.input
class CompanyUpdateInput:
    id: strawberry.ID
    code: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    tax_exempt: bool | None = strawberry.UNSET
    tax_number: str | None = strawberry.UNSET
    payment_terms: PaymentTerms | None = strawberry.UNSET
    credit_limit: Decimal | None = strawberry.UNSET
    credit_currency: str | None = strawberry.UNSET
    po_required: bool | None = strawberry.UNSET
    price_list_id: strawberry.ID | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET


@strawberry.type
class CompanyCreatePayload:
    company: Company | None
    user_errors: list[UserError]


@strawberry.type
class CompanyUpdatePayload:
    company: Company | None
    user_errors: list[UserError]


@strawberry.input
class CompanyLocationAddInput:
    company_id: strawberry.ID
    name: str
    address: AddressInput


@strawberry.type
class CompanyLocationAddPayload:
    location: CompanyLocation | None
    user_errors: list[UserError]


@strawberry.type
class CompanyLocationRemovePayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.input
class CompanyContactAddInput:
    company_id: strawberry.ID
    customer_id: strawberry.ID
    role: CompanyContactRole | None = None


@strawberry.type
class CompanyContactPayload:
    company: Company | None
    user_errors: list[UserError]


def _flag(value: Any) -> Any:
    """UNSET stays; null for a flag changes nothing either."""
    return UNSET if value is strawberry.UNSET or value is None else value


def _update_spec(input: CompanyUpdateInput) -> service.CompanySpec:
    price_list: Any = given(input.price_list_id)
    if price_list is not UNSET and price_list is not None:
        price_list = pk_of(price_list, "PriceList", field=("priceListId",))
    terms = _flag(input.payment_terms)
    return service.CompanySpec(
        code=_flag(input.code), name=_flag(input.name), tax_exempt=_flag(input.tax_exempt),
        tax_number=given(input.tax_number),
        payment_terms=terms if terms is UNSET else terms.value,
        credit_limit=given(input.credit_limit), credit_currency=given(input.credit_currency),
        po_required=_flag(input.po_required), price_list_id=price_list,
        active=_flag(input.active))


@strawberry.type
class CompanyMutations:
    @strawberry.mutation(extensions=requires(Permission.COMPANIES_MANAGE),
                         description="A company (B2B) that buys on account.")
    async def company_create(self, info: Info, input: CompanyCreateInput
                             ) -> CompanyCreatePayload:
        def spec() -> service.CompanySpec:
            return service.CompanySpec(
                code=input.code, name=input.name, tax_exempt=input.tax_exempt,
                tax_number=input.tax_number, payment_terms=input.payment_terms.value,
                credit_limit=input.credit_limit, credit_currency=input.credit_currency,
                po_required=input.po_required, active=input.active,
                price_list_id=pk_of(input.price_list_id, "PriceList", field=("priceListId",))
                if input.price_list_id is not None else None)

        found, errors = await attempt(run(lambda: service.create_company(
            spec=spec(), scope=info.context.scope)))
        return CompanyCreatePayload(company=_company(found), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.COMPANIES_MANAGE),
                         description="Change a company; orders placed before keep their "
                                     "prices, tax and terms.")
    async def company_update(self, info: Info, input: CompanyUpdateInput
                             ) -> CompanyUpdatePayload:
        found, errors = await attempt(run(lambda: service.update_company(
            company_id=pk_of(input.id, "Company", field=("id",)), spec=_update_spec(input),
            scope=info.context.scope)))
        return CompanyUpdatePayload(company=_company(found), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.COMPANIES_MANAGE),
                         description="Add an address to a company.")
    async def company_location_add(self, info: Info, input: CompanyLocationAddInput
                                   ) -> CompanyLocationAddPayload:
        found, errors = await attempt(run(lambda: service.add_location(
            company_id=pk_of(input.company_id, "Company", field=("companyId",)),
            name=input.name, address=input.address.to_dict(), scope=info.context.scope)))
        return CompanyLocationAddPayload(
            location=CompanyLocation.from_model(found) if found else None, user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.COMPANIES_MANAGE),
                         description="Remove a company's address.")
    async def company_location_remove(self, info: Info, id: strawberry.ID
                                      ) -> CompanyLocationRemovePayload:
        found, errors = await attempt(run(lambda: service.remove_location(
            location_id=pk_of(id, "CompanyLocation", field=("id",)),
            scope=info.context.scope)))
        return CompanyLocationRemovePayload(
            deleted_id=to_global_id("CompanyLocation", found.id) if found else None,
            user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.COMPANIES_MANAGE),
                         description="Make a customer a contact of the company: they may "
                                     "order for it. A customer buys for one company at most.")
    async def company_contact_add(self, info: Info, input: CompanyContactAddInput
                                  ) -> CompanyContactPayload:
        found, errors = await attempt(run(lambda: service.add_contact(
            company_id=pk_of(input.company_id, "Company", field=("companyId",)),
            customer_id=pk_of(input.customer_id, "Customer", field=("customerId",)),
            role=ContactRole(input.role.value) if input.role else None,
            scope=info.context.scope)))
        return CompanyContactPayload(company=_company(found), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.COMPANIES_MANAGE),
                         description="The customer no longer buys for the company; its "
                                     "orders stay the company's.")
    async def company_contact_remove(self, info: Info, company_id: strawberry.ID,
                                     customer_id: strawberry.ID) -> CompanyContactPayload:
        found, errors = await attempt(run(lambda: service.remove_contact(
            company_id=pk_of(company_id, "Company", field=("companyId",)),
            customer_id=pk_of(customer_id, "Customer", field=("customerId",)),
            scope=info.context.scope)))
        return CompanyContactPayload(company=_company(found), user_errors=errors)
