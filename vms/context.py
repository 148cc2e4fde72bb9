"""The core services one node runs, handed to API routes and to the parts built on the core."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vms.audit import AuditLog
from vms.auth.service import AuthService
from vms.config import Settings
from vms.db import Database
from vms.secrets import SecretBox

if TYPE_CHECKING:
    from vms.storage.objects import ObjectStore


@dataclass
class CoreServices:
    settings: Settings
    db: Database
    audit: AuditLog
    auth: AuthService
    secrets: SecretBox
    store: ObjectStore | None = None
    # Status providers contributed by the parts (e.g. "cameras" -> live camera status); set by the assembly.
    providers: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings, store: ObjectStore | None = None) -> CoreServices:
        db = Database(settings.database_url, echo=settings.database.echo)
        db.migrate()
        return cls(
            settings=settings,
            db=db,
            audit=AuditLog(db),
            auth=AuthService(db, settings.auth.session_ttl),
            secrets=SecretBox.for_settings(settings),
            store=store,
        )
