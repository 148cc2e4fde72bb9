"""What every command needs: the settings from ``--config`` and the core services, opened lazily."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from vms.config import Settings, load_settings
from vms.context import CoreServices
from vms.yard.actor import Actor, cli_actor


@dataclass
class CliContext:
    config_path: Path | None
    _settings: Settings | None = None
    _core: CoreServices | None = None
    actor: Actor = field(default_factory=cli_actor)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def core(self) -> CoreServices:
        """Core services on the configured database, without object storage."""
        if self._core is None:
            self._core = CoreServices.create(self.settings)
        return self._core

    def close(self) -> None:
        if self._core is not None:
            self._core.db.dispose()


pass_cli = click.make_pass_decorator(CliContext)
