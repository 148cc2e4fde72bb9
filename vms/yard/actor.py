"""Who makes a change and from where, as the audit log records it."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    name: str
    client: str = ""


def cli_actor() -> Actor:
    """The actor of CLI commands: ``cli:<os user>``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return Actor(f"cli:{user}", "cli")


CONFIG_ACTOR = Actor("config", "config-file")
