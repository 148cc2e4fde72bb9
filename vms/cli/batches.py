"""``vms batch import FILE``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vms.cli.context import CliContext, pass_cli
from vms.cli.errors import FAILURE_EXIT
from vms.yard.batch_import import import_batches


@click.group()
def batch() -> None:
    """Inspection batches."""


@batch.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--atomic", is_flag=True, help="All rows or none: one bad row writes nothing.")
@pass_cli
def import_file(cli: CliContext, file: Path, atomic: bool) -> None:
    """Create or update batches from a .csv or .json file (see docs/configuration.md for the columns)."""
    report = import_batches(cli.core, cli.actor, file, atomic=atomic)
    for r in report.rows:
        number = r.number or "?"
        line = f"row {r.row}: {number}: {r.outcome}" + (f": {r.reason}" if r.reason else "")
        click.echo(line, err=r.outcome == "failed")
    counts = ", ".join(
        f"{report.count(o)} {o}" for o in ("created", "updated", "unchanged", "failed", "skipped")
    )
    click.echo(f"{file.name}: {counts}")
    if report.failed:
        sys.exit(FAILURE_EXIT)
