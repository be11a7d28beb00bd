"""Customer accounts: register, sign in, refresh; `me`; and staff notes on customers."""

from __future__ import annotations

import math

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from api.auth import Permission, customer_principal
from api.graphql.errors import UserError, attempt
from api.graphql.orders.types import Customer, CustomerNote
from api.graphql.permissions import public, requires
from api.graphql.relay import from_global_id
from domain.customers import accounts, notes
from domain.customers.models import Customer as CustomerModel
from domain.customers.models import CustomerNote as CustomerNoteModel
from domain.customers.throttle import SignInThrottled
from domain.errors import NotFound


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
    user_errors: list[UserError]
    confirmation_sent: bool = strawberry.field(default=False, description=(
        "A one-time code went to the address (the same answer whether or not it has an "
        "account); customerRegisterConfirm with it creates the account."))


@strawberry.type
class CustomerRegisterConfirmPayload:
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


@strawberry.input
class CustomerNoteAddInput:
    customer_id: strawberry.ID
    message: str = strawberry.field(description="At most 5000 characters.")
    idempotency_key: str | None = None


@strawberry.type
class CustomerNoteAddPayload:
    customer: Customer | None
    note: CustomerNote | None
    user_errors: list[UserError]


async def _tokens(info: Info, customer: CustomerModel, refresh: str | None = None
                  ) -> CustomerTokens:
    tokens = info.context.tokens
    return CustomerTokens(access_token=tokens.customer_token(customer.id),
                          refresh_token=refresh or await accounts.issue_refresh_token(customer),
                          expires_in=tokens.ttl)


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(extensions=public(),
                         description="Ask for a customer account: a code is emailed to prove "
                         "the address.")
    async def customer_register(self, info: Info, input: CustomerRegisterInput
                                ) -> CustomerRegisterPayload:
        _, errors = await attempt(accounts.register(
            email=input.email, password=input.password, name=input.name,
            mailer=info.context.services.mailer, hasher=info.context.services.hasher))
        return CustomerRegisterPayload(confirmation_sent=not errors, user_errors=errors)

    @strawberry.mutation(extensions=public(),
                         description="Create the account with the code emailed by "
                         "customerRegister; signs the customer in.")
    async def customer_register_confirm(self, info: Info, token: str
                                        ) -> CustomerRegisterConfirmPayload:
        customer, errors = await attempt(accounts.confirm_registration(token=token))
        if customer is None:
            return CustomerRegisterConfirmPayload(customer=None, tokens=None, user_errors=errors)
        info.context.principal = customer_principal(customer.id)  # its owner reads the answer
        return CustomerRegisterConfirmPayload(
            customer=Customer.from_model(customer), tokens=await _tokens(info, customer),
            user_errors=[])

    @strawberry.mutation(extensions=public(), description="Sign in with email and password.")
    async def customer_token_create(self, info: Info, input: CustomerTokenCreateInput
                                    ) -> CustomerTokenCreatePayload:
        throttle = info.context.services.login_throttle
        who = {"account": input.email, "address": info.context.address}
        try:
            await throttle.begin(**who)  # a failure until it succeeds
        except SignInThrottled as throttled:
            retry_after = math.ceil(throttled.retry_after)
            raise GraphQLError(throttled.message, extensions={
                "code": "RATE_LIMITED", "retryAfter": retry_after}) from None
        customer, errors = await attempt(accounts.sign_in(
            email=input.email, password=input.password, hasher=info.context.services.hasher))
        if customer is None:
            await throttle.failed(**who)
            return CustomerTokenCreatePayload(customer=None, tokens=None, user_errors=errors)
        await throttle.succeeded(**who)
        info.context.principal = customer_principal(customer.id)  # its owner reads the answer
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


    @strawberry.mutation(extensions=requires(Permission.CUSTOMERS_WRITE), description=(
        "Add a staff note to a customer: the shop's own, never shown to the customer."))
    async def customer_note_add(self, info: Info, input: CustomerNoteAddInput
                                ) -> CustomerNoteAddPayload:
        ctx = info.context

        async def run() -> tuple[CustomerModel, CustomerNoteModel]:
            decoded = from_global_id(input.customer_id, expect="Customer")
            if decoded is None:
                raise NotFound("Customer", input.customer_id, field=("customerId",))
            await ctx.scope.require(CustomerModel, decoded[1], field="customerId")
            note = await notes.add_note(customer_id=decoded[1], message=input.message,
                                        actor=ctx.actor(),
                                        idempotency=ctx.idempotency(input.idempotency_key))
            return await ctx.scope.query(CustomerModel).get(id=note.customer_id), note

        done, errors = await attempt(run())
        if done is None:
            return CustomerNoteAddPayload(customer=None, note=None, user_errors=errors)
        return CustomerNoteAddPayload(customer=Customer.from_model(done[0]),
                                      note=CustomerNote.from_model(done[1]), user_errors=[])


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
