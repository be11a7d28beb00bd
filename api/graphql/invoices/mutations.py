"""invoiceIssue (staff issue an order's invoice by hand) and invoiceSettingsUpdate."""

from __future__ import annotations

import dataclasses

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.errors import UserError, attempt
from api.graphql.ids import pk_of
from api.graphql.invoices.types import Invoice, InvoiceSettings, InvoiceSettingsInput
from api.graphql.permissions import requires
from domain.invoices import service
from domain.invoices import settings as invoice_settings


@strawberry.type
class InvoiceIssuePayload:
    invoice: Invoice | None
    user_errors: list[UserError]


@strawberry.type
class InvoiceSettingsUpdatePayload:
    invoice_settings: InvoiceSettings | None
    user_errors: list[UserError]


@strawberry.type
class InvoiceMutations:
    @strawberry.mutation(extensions=requires(Permission.ORDERS_WRITE), description=(
        "Issue an order's invoice now, where the issuing setting did not (MANUAL, or an "
        "order paid or shipped outside its rule). ALREADY_INVOICED when it has one."))
    async def invoice_issue(self, info: Info, order_id: strawberry.ID,
                            idempotency_key: str | None = None) -> InvoiceIssuePayload:
        ctx = info.context

        async def issue() -> Invoice:
            order_pk = pk_of(order_id, "Order", field=("orderId",))
            return Invoice.from_model(await service.issue_by_hand(
                order_id=order_pk, scope=ctx.scope, actor=ctx.actor(),
                idempotency=ctx.idempotency(idempotency_key)))

        invoice, errors = await attempt(issue())
        return InvoiceIssuePayload(invoice=invoice, user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.ADMIN), description=(
        "Change the seller, the series' prefixes, the time zone or when invoices are "
        "issued; documents issued before keep what they say."))
    async def invoice_settings_update(self, input: InvoiceSettingsInput
                                      ) -> InvoiceSettingsUpdatePayload:
        changes = {f.name: getattr(input, f.name) for f in dataclasses.fields(input)}
        if changes.get("issue_on") is not None:
            changes["issue_on"] = changes["issue_on"].value
        updated, errors = await attempt(invoice_settings.update_settings(changes=changes))
        return InvoiceSettingsUpdatePayload(
            invoice_settings=InvoiceSettings.from_model(updated) if updated else None,
            user_errors=errors)



