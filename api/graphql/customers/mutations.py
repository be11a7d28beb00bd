"""Customer accounts: register, sign in, refresh; and `me`."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, attempt, graphql_error
from api.graphql.orders.types import Customer
from api.graphql.permissions import public
from domain.customers import accounts
from domain.customers.models import Customer as CustomerModel


@strawberry.input
class CustomerRegisterInput:
    email: str
    password: str
    name: str | None = None


@strawberry.input
class CustomerTokenCreateInput:
    email: str
    password: str


@strawberry.type
class CustomerTokens:
    access_token: str = strawberry.field(description="Short-lived bearer token.")
    refresh_token: str = strawberry.field(description="Trade it for new tokens; it works once.")
    expires_in: int


@strawberry.type
class CustomerRegisterPayload:
    customer: Customer | None
    tokens: CustomerTokens | None
    user_errors: list[UserError]


@strawberry.type
class CustomerTokenCreatePayload:
    customer: Customer | None
    tokens: CustomerTokens | None
    user_errors: list[UserError]


@strawberry.type
class CustomerTokenRefreshPayload:
    tokens: CustomerTokens | None
    user_errors: list[UserError]


async def _tokens(info: Info, customer: CustomerModel, refresh: str | None = None
                  ) -> CustomerTokens:
    tokens = info.context.tokens
    return CustomerTokens(access_token=tokens.customer_token(customer.id),
                          refresh_token=refresh or await accounts.issue_refresh_token(customer),
                          expires_in=tokens.ttl)


def _address(info: Info) -> str:
    client = getattr(info.context.request, "client", None)
    return client.host if client else "unknown"


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(extensions=public(), description="Create a customer account.")
    async def customer_register(self, info: Info, input: CustomerRegisterInput
                                ) -> CustomerRegisterPayload:
        customer, errors = await attempt(accounts.register(
            email=input.email, password=input.password, name=input.name,
            hasher=info.context.services.hasher))
        if customer is None:
            return CustomerRegisterPayload(customer=None, tokens=None, user_errors=errors)
        return CustomerRegisterPayload(customer=Customer.from_model(customer),
                                       tokens=await _tokens(info, customer), user_errors=[])

    @strawberry.mutation(extensions=public(), description="Sign in with email and password.")
    async def customer_token_create(self, info: Info, input: CustomerTokenCreateInput
                                    ) -> CustomerTokenCreatePayload:
        throttle = info.context.services.login_throttle
        keys = (f"account:{input.email.strip().lower()}", f"address:{_address(info)}")
        if throttle.blocked(*keys):
            raise graphql_error("Too many sign-in attempts; try again later", "RATE_LIMITED")
        customer, errors = await attempt(accounts.sign_in(
            email=input.email, password=input.password, hasher=info.context.services.hasher))
        if customer is None:
            throttle.failed(*keys)
            return CustomerTokenCreatePayload(customer=None, tokens=None, user_errors=errors)
        throttle.succeeded(keys[0])
        return CustomerTokenCreatePayload(customer=Customer.from_model(customer),
                                          tokens=await _tokens(info, customer), user_errors=[])

    @strawberry.mutation(extensions=public(), description="New tokens for a refresh token.")
    async def customer_token_refresh(self, info: Info, refresh_token: str
                                     ) -> CustomerTokenRefreshPayload:
        used, errors = await attempt(accounts.use_refresh_token(refresh_token))
        if used is None:
            return CustomerTokenRefreshPayload(tokens=None, user_errors=errors)
        customer, refresh = used
        return CustomerTokenRefreshPayload(tokens=await _tokens(info, customer, refresh),
                                           user_errors=[])


@strawberry.type
class CustomerQueries:
    @strawberry.field(extensions=public(),
                      description="The signed-in customer; null for anyone else.")
    async def me(self, info: Info) -> Customer | None:
        principal = info.context.principal
        if principal is None or principal.customer_id is None:
            return None
        found = await info.context.loaders.customer_by_id.load(principal.customer_id)
        return Customer.from_model(found) if found else None
