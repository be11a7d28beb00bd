"""The schema: every area's queries and mutations merged, with the document limits."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, SchemaExtension
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, Info

from api.graphql.acting import ActingStaff
from api.graphql.addresses import AddressQueries
from api.graphql.annotations.mutations import AnnotationMutations
from api.graphql.answers import RememberAnswers
from api.graphql.catalog.mutations import CatalogMutations
from api.graphql.catalog.queries import CatalogQueries
from api.graphql.companies.mutations import CompanyMutations
from api.graphql.companies.queries import CompanyQueries
from api.graphql.cost import CostLimit
from api.graphql.customers.mutations import CustomerMutations, CustomerQueries
from api.graphql.discounts.mutations import DiscountMutations
from api.graphql.discounts.queries import DiscountQueries
from api.graphql.drafts.mutations import DraftOrderMutations
from api.graphql.drafts.queries import DraftOrderQueries
from api.graphql.edits.mutations import OrderEditMutations
from api.graphql.executor import Executor
from api.graphql.fulfillment.mutations import FulfillmentMutations
from api.graphql.fulfillment.queries import FulfillmentQueries
from api.graphql.introspection_cache import IntrospectionAnswers, IntrospectionCache
from api.graphql.inventory.mutations import InventoryMutations
from api.graphql.inventory.queries import InventoryQueries
from api.graphql.invoices.mutations import InvoiceMutations
from api.graphql.invoices.queries import InvoiceQueries
from api.graphql.limits import limit_extensions
from api.graphql.marketplaces.mutations import MarketplaceMutations
from api.graphql.node import resolve_node
from api.graphql.notifications.schema import NotificationMutations, NotificationQueries
from api.graphql.orders.mutations import OrderMutations
from api.graphql.orders.queries import CustomerListQueries, OrderQueries
from api.graphql.partners.mutations import PartnerMutations
from api.graphql.payments.mutations import PaymentMutations
from api.graphql.permissions import public
from api.graphql.preparation import CheckingProcess, Preparation, PrepareDocuments
from api.graphql.prices.mutations import PriceMutations
from api.graphql.prices.queries import PriceQueries
from api.graphql.relay import Node
from api.graphql.reports.queries import ReportQueries
from api.graphql.returns.mutations import ReturnMutations
from api.graphql.risk.schema import RiskMutations, RiskQueries
from api.graphql.scalars import SCALAR_OVERRIDES
from api.graphql.staff.mutations import StaffMutations
from api.graphql.staff.queries import StaffQueries
from api.graphql.subscriptions import Subscription
from api.graphql.taxes.schema import TaxMutations, TaxQueries
from api.graphql.webhooks.schema import WebhookMutations, WebhookQueries
from api.observability.graphql import OperationMetrics, log_errors
from api.settings import Settings


@strawberry.type
class NodeQueries:
    @strawberry.field(extensions=public(),
                      description="Any object by its global ID; the object's own read rule applies.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)


Query = merge_types(
    "Query", (NodeQueries, CatalogQueries, InventoryQueries, OrderQueries, FulfillmentQueries,
              CustomerQueries, WebhookQueries, ReportQueries, CustomerListQueries, AddressQueries,
              DraftOrderQueries, NotificationQueries,
              RiskQueries, StaffQueries, TaxQueries, PriceQueries, InvoiceQueries,
              DiscountQueries, CompanyQueries)
)
Mutation = merge_types(
    "Mutation",
    (CatalogMutations, InventoryMutations, OrderMutations, FulfillmentMutations,
     PaymentMutations, ReturnMutations, PartnerMutations, CustomerMutations,
     WebhookMutations, MarketplaceMutations, DraftOrderMutations, OrderEditMutations,
     NotificationMutations, RiskMutations,
     StaffMutations, TaxMutations, AnnotationMutations, PriceMutations, InvoiceMutations,
     DiscountMutations, CompanyMutations),
)


class Schema(strawberry.Schema):
    preparation: Preparation | None = None  # its remembered documents and checking process

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        log_errors(errors)


def build_schema(settings: Settings | None = None) -> Schema:
    settings = settings or Settings()
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = limit_extensions(
        max_depth=settings.max_depth, max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
    )
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    # Costs first: a spent client is not read, a too costly document not validated. Clients
    # send the same few documents again and again: parse and validate each once, and large
    # ones off the event loop (after the extensions above set the options and rules). A
    # repeated introspection document is then answered from memory, and what an
    # availability document answered is kept for the next (api/graphql/answers.py).
    preparation = Preparation(checking=CheckingProcess(
        max_depth=settings.max_depth, max_aliases=settings.max_aliases,
        introspection=settings.introspection))
    answers = IntrospectionAnswers()
    extensions += [lambda: CostLimit(preparation), lambda: PrepareDocuments(preparation),
                   lambda: IntrospectionCache(answers), RememberAnswers, OperationMetrics,
                   ActingStaff]
    schema = Schema(query=Query, mutation=Mutation, subscription=Subscription,
                    extensions=extensions, scalar_overrides=SCALAR_OVERRIDES,
                    execution_context_class=Executor)
    schema.preparation = preparation
    return schema


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
