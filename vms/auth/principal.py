"""Who is calling: a signed-in user or another system with an API key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vms.auth.permissions import Permission, role_allows
from vms.db.models import Role


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "api_key"]
    name: str
    role: Role
    id: int
    session_id: int | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        return self.name if self.kind == "user" else f"api-key:{self.name}"

    def can(self, permission: Permission) -> bool:
        return role_allows(self.role, permission)
