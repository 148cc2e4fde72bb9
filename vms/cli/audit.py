"""``vms audit verify``."""

from __future__ import annotations

import sys

import click

from vms.cli.context import CliContext, pass_cli
from vms.cli.errors import FAILURE_EXIT


@click.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
@pass_cli
def verify(cli: CliContext) -> None:
    """Recompute the hash chain: OK and the count, or the first broken event (exit 1)."""
    result = cli.core.audit.verify()
    if result.first_break is None:
        click.echo(f"OK: {result.events} events, the chain is intact")
        return
    click.echo(f"BROKEN: {result.first_break}", err=True)
    sys.exit(FAILURE_EXIT)
