"""Hooks other parts register in ``core.providers`` and the yard services call after a commit.

* ``batch_changed_hooks``: ``callable(batch_id: int) -> None`` after a batch is created or changed
  (the recorder re-links footage to the batch's window).
* ``batch_dispute_hooks``: ``callable(batch_id: int, disputed: bool) -> None`` after the disputed flag changes
  (legal holds).
* ``camera_changed_hooks``: ``callable(camera_id: int) -> None`` after a camera is added, changed
  or removed.

A failing hook is logged; it does not undo the change, which is already committed and audited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("vms.yard.hooks")

BATCH_CHANGED = "batch_changed_hooks"
BATCH_DISPUTE = "batch_dispute_hooks"
CAMERA_CHANGED = "camera_changed_hooks"


def hook_list(providers: dict[str, Any], name: str) -> list[Callable[..., object]]:
    hooks: list[Callable[..., object]] = providers.setdefault(name, [])
    return hooks


def call_hooks(providers: dict[str, Any], name: str, *args: Any) -> None:
    for hook in list(providers.get(name) or []):
        try:
            hook(*args)
        except Exception:
            log.exception("hook %r of %s failed for %r", hook, name, args)
