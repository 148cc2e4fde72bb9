"""Turn the errors a person can fix into one line on stderr and an exit code; never a traceback."""

from __future__ import annotations

import click
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from vms.config import ConfigError
from vms.db.engine import DatabaseError
from vms.storage import StorageError
from vms.yard.errors import YardError
from vms.yard.validation import describe

USAGE_EXIT = 2
FAILURE_EXIT = 1


class CliFailure(click.ClickException):
    """The command could not do its job (exit 1)."""

    exit_code = FAILURE_EXIT

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class CliConfigError(CliFailure):
    """The configuration cannot be used (exit 2)."""

    exit_code = USAGE_EXIT


def translate(exc: BaseException) -> click.ClickException | None:
    """The CLI error for a known failure, or None to let it through."""
    if isinstance(exc, ConfigError):
        return CliConfigError(str(exc).replace("\n", "; "))
    if isinstance(exc, DatabaseError | YardError):
        return CliFailure(str(exc))
    if isinstance(exc, ValidationError):
        return CliFailure(describe(exc))
    if isinstance(exc, SQLAlchemyError):
        return CliFailure(f"database error: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    if isinstance(exc, StorageError):
        return CliFailure(f"object storage: {exc}")
    if isinstance(exc, OSError):
        return CliFailure(str(exc))
    return None
