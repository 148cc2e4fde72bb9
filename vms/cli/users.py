"""``vms user add|list|passwd``."""

from __future__ import annotations

import click

from vms.cli.context import CliContext, pass_cli
from vms.cli.output import echo_table
from vms.cli.passwords import read_password
from vms.db.models import Role
from vms.yard.accounts import UserCreate, UserService

ROLES = [r.value for r in Role if r is not Role.INTEGRATION]


@click.group()
def user() -> None:
    """Manage user accounts."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option("--display-name", default="", help="Name shown in the interface (may be Chinese).")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of standard input.")
@pass_cli
def add(cli: CliContext, username: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Create a user; the password is asked twice."""
    password = read_password(password_stdin)
    fields = UserCreate(username=username, password=password, role=Role(role), display_name=display_name)
    view = UserService(cli.core, cli.actor).create(fields)
    click.echo(f"created user {view.username} ({view.role.value})")


@user.command("list")
@pass_cli
def list_users(cli: CliContext) -> None:
    """List the users."""
    rows = UserService(cli.core, cli.actor).list_all()
    echo_table(
        ["USERNAME", "ROLE", "ACTIVE", "DISPLAY NAME"],
        [[u.username, u.role.value, "yes" if u.active else "no", u.display_name] for u in rows],
    )


@user.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of standard input.")
@pass_cli
def passwd(cli: CliContext, username: str, password_stdin: bool) -> None:
    """Set a user's password (their sessions end)."""
    service = UserService(cli.core, cli.actor)
    user_id = service.id_of(username)
    service.reset_password(user_id, read_password(password_stdin, "New password"))
    click.echo(f"password of {username} changed")
