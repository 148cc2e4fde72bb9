"""Entry point of the ``vms`` command (console script ``vms = vms.cli.main:main``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vms.cli.context import CliContext
from vms.cli.errors import FAILURE_EXIT, translate


class VmsGroup(click.Group):
    """A group whose commands' known errors become one line on stderr and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            translated = translate(exc)
            if translated is None:
                raise
            raise translated from None


@click.group(cls=VmsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="VMS_CONFIG",
    help="YAML configuration file (default: $VMS_CONFIG; without one, VMS_* variables and defaults).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """yard-vms administration: users, API keys, cameras, inspection batches, the audit log."""
    obj = CliContext(config_path)
    ctx.obj = obj
    ctx.call_on_close(obj.close)


def _register() -> None:
    from vms.cli import apikeys, audit, batches, cameras, export, server, upload, users, verify

    for command in (
        users.user,
        cameras.camera,
        batches.batch,
        audit.audit,
        apikeys.apikey,
        server.serve,
        server.demo,
        export.export,
        verify.verify,
        upload.upload,
    ):
        cli.add_command(command)


_register()


def main() -> None:
    """Run the CLI; anything unexpected is still one line, not a traceback."""
    try:
        cli.main(prog_name="vms")
    except Exception as exc:  # a bug: say so in one line
        click.echo(f"error: unexpected {type(exc).__name__}: {exc}", err=True)
        sys.exit(FAILURE_EXIT)
