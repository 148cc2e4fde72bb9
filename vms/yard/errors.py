"""Domain errors: the API maps them to 404/409/422, the CLI prints their message."""

from __future__ import annotations


class YardError(Exception):
    """Base of the errors a person can act on; ``str()`` is the message to show."""


class NotFound(YardError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")


class Conflict(YardError):
    """The request clashes with the current state (duplicate code, object in use, bad transition)."""


class Invalid(YardError):
    """A field has a value that cannot be used."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
