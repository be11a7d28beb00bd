"""Every table has one read rule, and the API reads only through the rules."""

from __future__ import annotations

import ast
from pathlib import Path

from tortoise import Tortoise

from domain.access.scope import RULES

API = Path(__file__).resolve().parents[2] / "api"
# Operator tools and inbound webhooks act as the system, not as a caller.
SYSTEM = {"cli.py", "seed.py", "history.py", "webhooks.py", "app.py", "oauth.py"}
READS = {"filter", "get", "get_or_none", "all", "first", "exclude", "exists", "count",
         "values", "values_list", "select_for_update", "raw"}


async def test_every_model_has_exactly_one_read_rule(app: object) -> None:
    models = set(Tortoise.apps["oms"].values())  # type: ignore[index]
    abstract = {m for m in models if getattr(m._meta, "abstract", False)}
    assert models - abstract - set(RULES) == set(), "decide who may read these tables"


def test_the_api_reads_rows_only_through_the_callers_scope() -> None:
    """``Model.filter(...)`` in a resolver bypasses the rules: use ``ctx.scope.query(Model)``,
    a loader, or a domain read function that takes the scope."""
    offenders = []
    models = {m.__name__ for m in RULES}
    for path in API.rglob("*.py"):
        if path.name in SYSTEM:
            continue
        tree = ast.parse(path.read_text())
        aliases = {a.asname or a.name: a.name for node in ast.walk(tree)
                   if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("domain")
                   for a in node.names if a.name in models}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in READS:
                target = node.func.value
                name = target.id if isinstance(target, ast.Name) else \
                    target.attr if isinstance(target, ast.Attribute) else None
                if name in aliases or (isinstance(target, ast.Attribute) and name in models):
                    offenders.append(f"{path.relative_to(API.parent)}:{node.lineno} {name}")
    assert offenders == []
