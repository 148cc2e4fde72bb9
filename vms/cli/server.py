"""``vms serve`` and ``vms demo``: thin wrappers over the app assembly in ``vms.app``."""

from __future__ import annotations

from typing import Any

import click

from vms.cli.context import CliContext, pass_cli


@click.command()
@pass_cli
def serve(cli: CliContext) -> None:
    """Run the node: API, recording, viewer."""
    from vms import app

    runner: Any = getattr(app, "serve", None)
    if runner is None:
        raise click.ClickException("this build cannot serve yet (vms.app.serve is missing)")
    runner(cli.settings)


@click.command()
@click.option(
    "--cameras",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="How many simulated cameras to run.",
)
@pass_cli
def demo(cli: CliContext, cameras: int) -> None:
    """Run a demonstration node with simulated cameras."""
    from vms import app

    runner: Any = getattr(app, "run_demo", None)
    if runner is None:
        raise click.ClickException("this build cannot run the demo yet (vms.app.run_demo is missing)")
    runner(cli.settings, cameras=cameras)
