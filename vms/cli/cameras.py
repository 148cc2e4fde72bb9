"""``vms camera add|list|remove``."""

from __future__ import annotations

import click

from vms.cli.context import CliContext, pass_cli
from vms.cli.output import echo_table
from vms.cli.passwords import read_password
from vms.yard.cameras import CameraFields, CameraService


@click.group()
def camera() -> None:
    """Manage cameras."""


@camera.command("add")
@click.argument("code")
@click.option("--main-url", required=True, help="rtsp:// URL of the main stream, without credentials.")
@click.option("--sub-url", help="rtsp:// URL of the low-resolution stream.")
@click.option("--name", default="", help="Name shown in the interface (may be Chinese).")
@click.option("--site", help="Code of the site the camera stands on.")
@click.option("--username", help="User name the camera asks for.")
@click.option("--password-stdin", is_flag=True, help="Read the camera's password from standard input.")
@click.option("--disabled", is_flag=True, help="Add it without recording it yet.")
@pass_cli
def add(
    cli: CliContext,
    code: str,
    main_url: str,
    sub_url: str | None,
    name: str,
    site: str | None,
    username: str | None,
    password_stdin: bool,
    disabled: bool,
) -> None:
    """Add a camera."""
    password = read_password(True) if password_stdin else None
    fields = CameraFields(
        code=code,
        main_url=main_url,
        sub_url=sub_url,
        name=name,
        site=site,
        username=username,
        password=password,
        enabled=not disabled,
    )
    view = CameraService(cli.core, cli.actor).create(fields)
    click.echo(f"added camera {view.code}")


@camera.command("list")
@pass_cli
def list_cameras(cli: CliContext) -> None:
    """List the cameras (passwords are never shown)."""
    rows = CameraService(cli.core, cli.actor).list_all()
    echo_table(
        ["CODE", "NAME", "SITE", "ENABLED", "PASSWORD", "MAIN URL"],
        [
            [
                c.code,
                c.name,
                c.site or "",
                "yes" if c.enabled else "no",
                "set" if c.has_password else "-",
                c.main_url,
            ]
            for c in rows
        ],
    )


@camera.command("remove")
@click.argument("code")
@pass_cli
def remove(cli: CliContext, code: str) -> None:
    """Remove a camera (refused once it has recordings: disable it instead)."""
    service = CameraService(cli.core, cli.actor)
    service.delete(service.get_by_code(code).id)
    click.echo(f"removed camera {code}")
