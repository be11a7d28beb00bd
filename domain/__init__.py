"""The business of the order management system: models, rules and services.

Nothing here knows about HTTP, GraphQL or any vendor; adapters implement the
ports declared in the areas' ``ports`` modules.
"""

MODEL_MODULES = [
    "domain.catalog.models",
    "domain.inventory.models",
    "domain.customers.models",
    "domain.orders.models",
    "domain.fulfillment.models",
    "domain.payments.models",
    "domain.returns.models",
    "domain.partners.models",
    "domain.webhooks.models",
    "domain.marketplaces.models",
    "domain.events.models",
    "domain.idempotency.models",
    "domain.reports.models",
    "domain.deployment",
    "domain.signing.models",
    "domain.drafts.models",
    "domain.edits.models",
    "domain.notifications.models",
    "domain.risk.models",
    "domain.staff.models",
    "domain.taxes.models",
    "domain.annotations.models",
    "domain.invoices.models",
    "domain.discounts.models",
    "domain.companies.models",
]
