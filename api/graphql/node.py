"""``node(id:)``: fetch any object by its global ID, with the permission its type needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from strawberry.types import Info

from api.auth import Permission
from api.graphql.errors import graphql_error
from api.graphql.relay import Node, from_global_id


@dataclass(frozen=True)
class NodeType:
    permission: Permission | None
    load: Callable[[Info, int], Awaitable[Node | None]]


NODE_TYPES: dict[str, NodeType] = {}


def register(name: str, permission: Permission | None) -> Callable[[Any], Any]:
    """Declare how ``node(id:)`` loads a type, and who may read it (None: anyone)."""

    def decorator(load: Callable[[Info, int], Awaitable[Node | None]]) -> Any:
        NODE_TYPES[name] = NodeType(permission, load)
        return load

    return decorator


async def resolve_node(info: Info, gid: str) -> Node | None:
    decoded = from_global_id(gid)
    if decoded is None or decoded[0] not in NODE_TYPES:
        return None
    type_name, pk = decoded
    node_type = NODE_TYPES[type_name]
    if node_type.permission is not None:
        principal = info.context.principal
        if principal is None:
            raise graphql_error("Authentication required", "UNAUTHENTICATED")
        if not principal.allows(node_type.permission):
            raise graphql_error(f"Missing permission {node_type.permission.value}", "FORBIDDEN")
    return await node_type.load(info, pk)
