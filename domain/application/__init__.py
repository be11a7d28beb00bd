"""The application layer: every operation that spans areas, one function each.

Each use case takes its dependencies as one typed set (:class:`Deps`, built at start-up),
the caller's actor and scope, and runs the areas' services in order: the order change
commits first, then any gateway call (a failing gateway never undoes the order change).
Resolvers, webhooks and the CLI call these functions for those operations and nothing
else; a test (tests/api/test_application_layer.py) keeps new resolvers to that rule.
"""

from domain.application.deps import Deps
from domain.application.drafts import complete_draft
from domain.application.edits import (
    add_edit_line,
    begin_edit,
    calculated_edit,
    cancel_lines,
    commit_edit,
    set_edit_quantity,
    set_edit_shipping_method,
)
from domain.application.fulfillment import ship
from domain.application.orders import (
    Checkout,
    PaymentChoice,
    RiskSignals,
    cancel,
    confirm,
    hold,
    place,
    release,
)

__all__ = ["Checkout", "Deps", "PaymentChoice", "RiskSignals", "add_edit_line", "begin_edit",
           "calculated_edit", "cancel", "cancel_lines", "commit_edit", "complete_draft",
           "confirm", "hold", "place", "release", "set_edit_quantity", "set_edit_shipping_method", "ship"]
