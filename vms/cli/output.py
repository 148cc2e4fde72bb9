"""Plain-text tables for listings (wide characters such as Chinese count as two columns)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import click


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([width(h), *(width(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        click.echo("  ".join(v + " " * (w - width(v)) for v, w in zip(row, widths, strict=True)).rstrip())
