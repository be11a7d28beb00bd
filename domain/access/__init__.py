"""Who may see and do what: the caller, the permissions it holds, and the rows it may read."""

from domain.access.principal import ADMIN, Kind, Permission, Principal
from domain.access.scope import Scope, visibility

__all__ = ["ADMIN", "Kind", "Permission", "Principal", "Scope", "visibility"]
