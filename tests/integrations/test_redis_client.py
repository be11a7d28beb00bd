"""Every Redis client is made by ``integrations.redis_client``: tomorrow's too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAKER = ROOT / "integrations" / "redis_client.py"


def _imports_redis_clients(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "redis" and any(
                alias.name == "asyncio" for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "redis.asyncio"):
            return True
        if isinstance(node, ast.Import) and any(
                alias.name.startswith("redis.asyncio") or alias.name == "redis"
                for alias in node.names):
            return True
    return False


def test_no_module_but_the_maker_makes_its_own_redis_client() -> None:
    sources = [path for folder in ("api", "domain", "integrations")
               for path in (ROOT / folder).rglob("*.py")]
    assert MAKER in sources
    makers = [path.relative_to(ROOT).as_posix() for path in sources
              if _imports_redis_clients(ast.parse(path.read_text(), str(path)))]
    assert makers == ["integrations/redis_client.py"]
