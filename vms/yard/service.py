"""What every yard service shares: the core, the acting person, and the audit call."""

from __future__ import annotations

from typing import Any

from vms.context import CoreServices
from vms.yard.actor import Actor


class YardService:
    def __init__(self, core: CoreServices, actor: Actor) -> None:
        self.core = core
        self.actor = actor

    def audit(self, action: str, object_type: str, object_id: str | int, detail: dict[str, Any]) -> None:
        self.core.audit.record(
            self.actor.name,
            action,
            object_type=object_type,
            object_id=object_id,
            client=self.actor.client,
            detail=detail,
        )
