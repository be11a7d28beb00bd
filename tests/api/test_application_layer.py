"""Mutations that span areas go through domain/application, and resolvers stay within one
area otherwise: read from the schema and the resolvers' source, so new mutations are held
to it too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from graphql import build_schema

import domain.application as application
from domain.application import returns

ROOT = Path(__file__).resolve().parents[2]
# Modules an api file may use from any area: no behaviour of the area's own.
NEUTRAL = {"errors", "metrics", "access", "idempotency", "validation", "money", "application"}

# The mutations that span areas, and the use case each one runs.
CROSS_AREA = {
    "orderCreate": application.place, "orderConfirm": application.confirm,
    "orderHold": application.hold, "orderRelease": application.release,
    "orderCancel": application.cancel, "shipmentShip": application.ship,
    "returnRequest": returns.request_return, "returnApprove": returns.approve_return,
    "returnDecline": returns.decline_return, "returnCancel": returns.cancel_return,
    "returnReceive": returns.receive_return, "returnRefund": returns.refund_return,
    "draftOrderComplete": application.complete_draft,
    "orderEditBegin": application.begin_edit, "orderEditAddLine": application.add_edit_line,
    "orderEditSetQuantity": application.set_edit_quantity,
    "orderEditRemoveLine": application.set_edit_quantity,
    "orderEditSetShippingMethod": application.set_edit_shipping_method,
    "orderEditCommit": application.commit_edit,
    "orderLinesCancel": application.cancel_lines,
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _area_names(tree: ast.Module) -> dict[str, str]:
    """Imported name -> the domain area whose behaviour it is (models and ports excluded)."""
    names = {}
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("domain"):
            continue
        parts = (node.module or "").split(".")
        for alias in node.names:
            full = [*parts[1:], alias.name]
            area = full[0] if full else ""
            if area in NEUTRAL or any(p in ("models", "ports", "types") for p in full):
                continue
            names[alias.asname or alias.name] = area
    return names


def _resolvers() -> dict[str, tuple[Path, set[str], set[str]]]:
    """snake_case resolver -> (file, areas it uses, names it uses)."""
    found = {}
    for path in sorted((ROOT / "api" / "graphql").glob("*/mutations.py")):
        tree = ast.parse(path.read_text())
        areas = _area_names(tree)
        helpers = {n.name: n for n in tree.body
                   if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            for fn in (n for n in cls.body if isinstance(n, ast.AsyncFunctionDef)):
                used = _names_used(fn, helpers)
                found[fn.name] = (path, {areas[n] for n in used if n in areas}, used)
    return found


def _names_used(fn: ast.AST, helpers: dict[str, ast.AST]) -> set[str]:
    """Names a resolver uses, through the module's helper functions it calls."""
    used: set[str] = set()
    todo, seen = [fn], set()
    while todo:
        node = todo.pop()
        names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        used |= names | {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
        for name in names & helpers.keys() - seen:
            seen.add(name)
            todo.append(helpers[name])
    return used


def test_no_resolver_calls_services_of_two_areas() -> None:
    resolvers = _resolvers()
    assert len(resolvers) > 30  # the scan sees the resolvers
    mixed = {name: sorted(areas) for name, (_p, areas, _u) in resolvers.items()
             if len(areas) > 1}
    assert mixed == {}, f"move these flows into domain/application: {mixed}"


def test_cross_area_mutations_call_their_use_case() -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    assert schema.mutation_type is not None
    fields = set(schema.mutation_type.fields)
    assert set(CROSS_AREA) <= fields
    resolvers = _resolvers()
    for mutation, use_case in CROSS_AREA.items():
        _path, _areas, used = resolvers[_snake(mutation)]
        assert use_case.__name__ in used, f"{mutation} must call application {use_case.__name__}"
        assert use_case.__module__.startswith("domain.application.")


def test_inbound_webhooks_and_the_poller_run_use_cases() -> None:
    """Carriers', gateways' and marketplaces' calls reach the order only through
    domain/application/inbound.py."""
    area_entry_points = {"add_tracking_events", "apply_gateway_event", "apply_notification",
                         "poll_orders", "create_order"}
    for name in ("webhooks.py", "app.py", "cli.py"):
        tree = ast.parse((ROOT / "api" / name).read_text())
        imported = {alias.asname or alias.name for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) for alias in node.names}
        assert not imported & area_entry_points, (name, imported & area_entry_points)
    source = (ROOT / "api" / "webhooks.py").read_text()
    for use_case in ("track", "apply_payment_event", "import_marketplace_notification"):
        assert f"inbound_flows.{use_case}(" in source


def test_the_dependencies_are_built_once_at_start_up(app: object) -> None:
    services = app.state.services  # type: ignore[attr-defined]
    deps = services.deps
    assert isinstance(deps, application.Deps) and services.deps is deps
    assert deps.gateways is services.gateways and deps.carriers is services.carriers
    app_source = (ROOT / "api" / "app.py").read_text()
    assert app_source.count("Deps(") == 1  # one set, given to the poller and the context


# Services whose every caller must be one use case: cancelling an order (stock released,
# then payments voided) is domain.application.cancel, whoever asks for it.
OWNED = {"cancel_order": {"domain/application/orders.py", "domain/orders/lifecycle.py"},
         "void_open_payments": {"domain/application/orders.py", "domain/payments/service.py"}}


def test_every_cancellation_goes_through_the_cancel_use_case() -> None:
    """Read every module of the product: a call or import of the order's own cancellation
    (or of voiding its payments) outside the cancel use case fails here, so a new path
    (a marketplace's, a return's, a job's) cannot skip voiding the payments."""
    offenders: dict[str, list[str]] = {}
    scanned = 0
    for package in ("api", "domain", "integrations"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text())
            scanned += 1
            for node in ast.walk(tree):
                names: list[str] = []
                if isinstance(node, ast.Call):
                    func = node.func
                    names.append(func.id if isinstance(func, ast.Name) else
                                 func.attr if isinstance(func, ast.Attribute) else "")
                elif isinstance(node, ast.ImportFrom):
                    names.extend(alias.name for alias in node.names)
                for name in names:
                    if name in OWNED and relative not in OWNED[name]:
                        offenders.setdefault(relative, []).append(f"{name} (line {node.lineno})")
    assert scanned > 100  # the scan sees the product
    assert offenders == {}, f"cancel through domain.application.cancel: {offenders}"
    assert "lifecycle.cancel_order(" in (ROOT / "domain/application/orders.py").read_text()
