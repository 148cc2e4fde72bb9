"""Poster images and short previews for the UI, made with the ffmpeg command line (offline, after upload).

They are conveniences, not evidence: a file whose poster or preview cannot be made is still accepted.
The two ffmpeg processes start as soon as the file is complete (``DerivedMedia``) and run while it is
inspected and stored, on the cores the upload no longer needs; a file that is refused has them stopped.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import ffmpeg  # type: ignore[import-untyped]

from evidence.models import EvidenceKind

log = logging.getLogger("evidence.derived")

POSTER_WIDTH = 640
PREVIEW_HEIGHT = 240
PREVIEW_SECONDS = 5
POSTER_AT_S = 1.0
"""The poster is the frame this far in (the middle of a shorter video)."""
JOB_TIMEOUT_S = 300.0


def poster_seek(kind: EvidenceKind, duration_s: float | None) -> float:
    return 0.0 if kind is EvidenceKind.PHOTO else min(POSTER_AT_S, (duration_s or 0) / 2)


def make_poster(source: Path, target: Path, kind: EvidenceKind, duration_s: float | None) -> bool:
    """Write a JPEG of one frame (1 s in, or the middle of shorter videos); False if it failed."""
    return _FfmpegJob(_poster_command(source, target, poster_seek(kind, duration_s)), target, "poster").wait()


def make_preview(source: Path, target: Path) -> bool:
    """Write a small, silent H.264 MP4 of the first seconds; False if it failed."""
    return _FfmpegJob(_preview_command(source, target), target, "preview").wait()


class DerivedMedia:
    """The poster and preview of one complete file, made while it is inspected and stored.

    Both jobs start at once, the poster at ``POSTER_AT_S`` (a video that turns out shorter than twice that
    gets its poster made again from its middle). ``close`` stops what still runs and removes the files.
    """

    def __init__(self, source: Path, *, photo: bool) -> None:
        self._source = source
        self._dir = Path(tempfile.mkdtemp(prefix="evidence-derived-"))
        self.poster_path = self._dir / "poster.jpg"
        self.preview_path = self._dir / "preview.mp4"
        self._poster_seek = 0.0 if photo else POSTER_AT_S
        self._poster = _FfmpegJob(
            _poster_command(source, self.poster_path, self._poster_seek), self.poster_path, "poster"
        )
        self._preview = (
            None
            if photo
            else _FfmpegJob(_preview_command(source, self.preview_path), self.preview_path, "preview")
        )

    def results(self, kind: EvidenceKind, duration_s: float | None) -> tuple[Path | None, Path | None]:
        """(poster, preview) files of a file inspected as ``kind``; None for one that could not be made."""
        poster_ok = self._poster.wait()
        seek = poster_seek(kind, duration_s)
        if seek != self._poster_seek:
            self.poster_path.unlink(missing_ok=True)
            poster_ok = _FfmpegJob(
                _poster_command(self._source, self.poster_path, seek), self.poster_path, "poster"
            ).wait()
        preview_ok = (
            self._preview.wait() if self._preview is not None and kind is EvidenceKind.VIDEO else False
        )
        return (self.poster_path if poster_ok else None, self.preview_path if preview_ok else None)

    def close(self) -> None:
        for job in (self._poster, self._preview):
            if job is not None:
                job.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> DerivedMedia:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _FfmpegJob:
    """One ffmpeg process writing ``target``; its stderr is kept for the log if it fails."""

    def __init__(self, command: Any, target: Path, what: str) -> None:
        self._target = target
        self._what = what
        self._result: bool | None = None
        self._process: subprocess.Popen[bytes] | None = None
        args = ffmpeg.compile(command.global_args("-hide_banner", "-loglevel", "error", "-nostdin"))
        try:
            self._process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as exc:
            log.warning("cannot make the %s %s: %s", what, target.name, exc)
            self._result = False

    def wait(self) -> bool:
        if self._result is not None:
            return self._result
        assert self._process is not None
        try:
            _, stderr = self._process.communicate(timeout=JOB_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.stop()
            log.warning(
                "the %s %s took longer than %.0f s: stopped", self._what, self._target.name, JOB_TIMEOUT_S
            )
            self._result = False
            return False
        if self._process.returncode != 0:
            detail = (stderr or b"").decode(errors="replace")[-300:]
            log.warning("cannot make the %s %s: %s", self._what, self._target.name, detail)
            self._result = False
        else:
            self._result = self._target.exists() and self._target.stat().st_size > 0
        return self._result

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.communicate(timeout=5)


def _poster_command(source: Path, target: Path, seek: float) -> Any:
    stream = ffmpeg.input(str(source), ss=seek) if seek else ffmpeg.input(str(source))
    return stream.output(
        str(target), vframes=1, vf=f"scale='min({POSTER_WIDTH},iw)':-2", **{"q:v": 4}
    ).overwrite_output()


def _preview_command(source: Path, target: Path) -> Any:
    return (
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
