"""Recording start times from common body-cam file names, read as yard-local time."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

# Full year first: 20261126_143015, VID_20261126_143015, IMG20261126143015, 2026-11-26_14-30-15.
_FULL = re.compile(r"(?<!\d)(20\d{2})-?(\d{2})-?(\d{2})[ _T-]?(\d{2})[-.:]?(\d{2})[-.:]?(\d{2})(?!\d)")
# Two-digit year with a dash between date and time: FILE261126-143015.
_SHORT = re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{2})[-_](\d{2})(\d{2})(\d{2})(?!\d)")


def time_from_filename(filename: str, zone: tzinfo) -> datetime | None:
    """The date and time a body-cam wrote into ``filename`` (in ``zone``), or None if it has none."""
    for pattern, century in ((_FULL, 0), (_SHORT, 2000)):
        for match in pattern.finditer(filename):
            y, mo, d, h, mi, s = (int(g) for g in match.groups())
            try:
                return datetime(century + y, mo, d, h, mi, s, tzinfo=zone)
            except ValueError:
                continue
    return None
