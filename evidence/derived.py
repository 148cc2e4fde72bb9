"""Poster images and short previews for the UI, made with the ffmpeg command line (offline, after upload).

They are conveniences, not evidence: a file whose poster or preview cannot be made is still accepted.
"""

from __future__ import annotations

import logging
from pathlib import Path

import ffmpeg  # type: ignore[import-untyped]

from evidence.models import EvidenceKind

log = logging.getLogger("evidence.derived")

POSTER_WIDTH = 640
PREVIEW_HEIGHT = 240
PREVIEW_SECONDS = 5


def make_poster(source: Path, target: Path, kind: EvidenceKind, duration_s: float | None) -> bool:
    """Write a JPEG of one frame (1 s in, or the middle of shorter videos); False if it failed."""
    seek = 0.0 if kind is EvidenceKind.PHOTO else min(1.0, (duration_s or 0) / 2)
    stream = ffmpeg.input(str(source), ss=seek) if seek else ffmpeg.input(str(source))
    out = stream.output(
        str(target), vframes=1, vf=f"scale='min({POSTER_WIDTH},iw)':-2", **{"q:v": 4}
    ).overwrite_output()
    return _run(out, target, "poster")


def make_preview(source: Path, target: Path) -> bool:
    """Write a small, silent H.264 MP4 of the first seconds; False if it failed."""
    out = (
        ffmpeg.input(str(source), t=PREVIEW_SECONDS)
        .output(
            str(target),
            vf=f"scale=-2:'min({PREVIEW_HEIGHT},ih)'",
            vcodec="libx264",
            preset="veryfast",
            crf=30,
            pix_fmt="yuv420p",
            an=None,
            movflags="+faststart",
        )
        .overwrite_output()
    )
    return _run(out, target, "preview")


def _run(command: object, target: Path, what: str) -> bool:
    try:
        ffmpeg.run(command, quiet=True)
    except (ffmpeg.Error, OSError) as exc:
        stderr = getattr(exc, "stderr", b"") or b""
        log.warning("cannot make the %s %s: %s", what, target.name, stderr.decode(errors="replace")[-300:])
        return False
    return target.exists() and target.stat().st_size > 0
