"""``vms apikey create|list|revoke``."""

from __future__ import annotations

import click

from vms.cli.context import CliContext, pass_cli
from vms.cli.output import echo_table
from vms.db.models import Role
from vms.yard.accounts import ApiKeyCreate, ApiKeyService


@click.group()
def apikey() -> None:
    """API keys for other systems."""


@apikey.command("create")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.INTEGRATION.value,
    show_default=True,
    help="What the key may do.",
)
@pass_cli
def create(cli: CliContext, name: str, role: str) -> None:
    """Create a key and print it (shown only this once)."""
    created = ApiKeyService(cli.core, cli.actor).create(ApiKeyCreate(name=name, role=Role(role)))
    click.echo(
        f"created API key {created.name} ({created.role.value}); store it now, it is not shown again:",
        err=True,
    )
    click.echo(created.key)


@apikey.command("list")
@pass_cli
def list_keys(cli: CliContext) -> None:
    """List the keys (never the secrets)."""
    rows = ApiKeyService(cli.core, cli.actor).list_all()
    echo_table(
        ["NAME", "PREFIX", "ROLE", "CREATED BY", "STATUS"],
        [[k.name, k.prefix, k.role.value, k.created_by, _state(k.revoked_at is not None)] for k in rows],
    )


@apikey.command("revoke")
@click.argument("name")
@pass_cli
def revoke(cli: CliContext, name: str) -> None:
    """Revoke the key called NAME."""
    service = ApiKeyService(cli.core, cli.actor)
    service.revoke(service.id_of(name))
    click.echo(f"revoked API key {name}")


def _state(revoked: bool) -> str:
    return "revoked" if revoked else "active"
