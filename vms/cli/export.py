"""``vms export``: one camera's footage over a time range as one MP4, joined without re-encoding."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path

import click

from recorder.clip import ClipResult
from vms.cli.context import CliContext, pass_cli
from vms.cli.errors import CliFailure
from vms.yard.times import parse_local_time


@click.command()
@click.option("--camera", required=True, help="Camera code (or id).")
@click.option("--start", required=True, help="Start: ISO 8601; without an offset, the yard's local time.")
@click.option("--end", required=True, help="End: ISO 8601; without an offset, the yard's local time.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="MP4 file to write; a sidecar OUTPUT.json lists the segments and gaps.",
)
@pass_cli
def export(cli: CliContext, camera: str, start: str, end: str, output: Path) -> None:
    """Export a clip (audited as an export by the CLI user)."""
    from recorder.clip import ClipError, export_clip
    from vms.assembly.storage import NodeStorage

    zone = cli.settings.zone
    begin, finish = _time("--start", start, zone), _time("--end", end, zone)
    storage = NodeStorage(cli.settings)
    try:
        cli.core.store = storage.connect()
        result = export_clip(cli.core, camera, begin, finish, output, actor=cli.actor.name)
    except ClipError as exc:
        raise CliFailure(str(exc)) from None
    except LookupError as exc:
        raise CliFailure(str(exc.args[0]) if exc.args else "unknown camera") from None
    finally:
        storage.stop()
    click.echo(f"wrote {output} ({_describe(result)})")


def _time(option: str, text: str, zone: tzinfo) -> datetime:
    try:
        return parse_local_time(text, zone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _describe(result: ClipResult) -> str:
    seconds = (result.end - result.start).total_seconds()
    text = f"{seconds:.1f} s from {len(result.segment_ids)} segments, {result.size_bytes / 1e6:.1f} MB"
    if result.gaps:
        text += f", {len(result.gaps)} gap(s) inside: see the .json sidecar"
    return text
