"""Times at the edges: aware datetimes are required in API bodies; imports may give the yard's local time."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

NAIVE_TIME_MESSAGE = (
    "needs a time zone offset, e.g. 2025-03-01T08:30:00+08:00 or 2025-03-01T00:30:00Z (times without an "
    "offset are refused)"
)


def require_aware(value: datetime | None) -> datetime | None:
    """Return ``value`` in UTC; raise ValueError for a naive datetime."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(NAIVE_TIME_MESSAGE)
    return value.astimezone(UTC)


def parse_local_time(text: str, zone: tzinfo) -> datetime:
    """Parse an ISO-like time from a file; without an offset it is taken as the yard's local time."""
    cleaned = text.strip().replace("/", "-")
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        hint = "use 2025-03-01 08:30 or 2025-03-01T08:30:00+08:00"
        raise ValueError(f"{text!r} is not a time ({hint})") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)
