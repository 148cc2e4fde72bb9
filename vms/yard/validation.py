"""Readable messages for pydantic validation errors, without echoing the values (they may be secrets)."""

from __future__ import annotations

from pydantic import ValidationError


def describe(exc: ValidationError) -> str:
    """``field: message; field: message`` for a person to act on."""
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "value"
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "missing":
            msg = "field required"
        parts.append(f"{field}: {msg}")
    return "; ".join(parts)
