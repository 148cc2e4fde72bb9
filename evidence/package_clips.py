"""Camera clips of a package: each planned clip is remuxed (not re-encoded) by :mod:`recorder.clip` into a
temporary file, checked against the segments' recorded SHA-256, then streamed into the ZIP."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from evidence.package_content import CameraPlan, ClipPlan, PackageError, Window
from evidence.package_format import segment_iso, time_pair
from evidence.package_zip import HashingZipWriter
from recorder.clip import ClipError, ClipResult, ClipWriter, NoFootageError
from recorder.index import SegmentIndex
from recorder.models import Segment
from vms.storage import ObjectStore

GAP_TOLERANCE_S = 0.5
_CHUNK = 1024 * 1024


class StorageIntegrityError(PackageError):
    """Stored bytes do not match the hash recorded for them: storage was altered or damaged."""

    status = 409


@dataclass(slots=True)
class CameraOutcome:
    """What a camera contributed: manifest file entries (one per clip) and the camera's manifest entry."""

    files: list[dict[str, Any]]
    camera: dict[str, Any]


class ClipPackager:
    """Writes the clips of cameras into a package ZIP."""

    def __init__(
        self,
        store: ObjectStore,
        index: SegmentIndex,
        temp_dir: Path,
        zone: tzinfo,
        advance: Callable[[int], None],
    ) -> None:
        self._store = store
        self._index = index
        self._temp_dir = temp_dir
        self._zone = zone
        self._advance = advance
        """Progress: each clip counts its segments' bytes twice (remuxed, then copied into the ZIP)."""

    def add_camera(self, camera: CameraPlan, window: Window, writer: HashingZipWriter) -> CameraOutcome:
        files: list[dict[str, Any]] = []
        covered: list[tuple[datetime, datetime]] = []
        inner_gaps: list[dict[str, Any]] = []
        for clip in camera.clips:
            planned = sum(s.size_bytes for s in clip.segments)
            made = self._make_clip(camera, clip)
            self._advance(planned)
            if made is None:
                self._advance(planned)
                continue
            path, result = made
            budget = _Budget(planned, self._advance)
            try:
                stamp = f"{self._stamp(result.start)}_{self._stamp(result.end)}"
                name = _unique(f"cameras/{camera.code}_{stamp}.mp4", writer)
                member = writer.add_chunks(name, budget.count(_file_chunks(path)), size=path.stat().st_size)
            finally:
                path.unlink(missing_ok=True)
            budget.spend_rest()
            used = {seg.id: seg for seg in clip.segments}
            gaps = [self._gap(g.start, g.end, g.reason) for g in result.gaps]
            inner_gaps.extend(gaps)
            covered.append((result.start, result.end))
            files.append(
                {
                    "path": member.path,
                    "kind": "camera_clip",
                    "sha256": member.sha256,
                    "size": member.size,
                    "source": {"type": "camera", "camera_id": camera.id, "camera_code": camera.code},
                    "time_range": {
                        "start": time_pair(result.start, self._zone),
                        "end": time_pair(result.end, self._zone),
                    },
                    "segments": [segment_entry(used[i]) for i in result.segment_ids if i in used],
                    "gaps": gaps,
                    "audio_dropped": result.audio_dropped,
                }
            )
        gaps = sorted(inner_gaps + self._uncovered(camera, window, covered), key=lambda g: g["start"]["utc"])
        return CameraOutcome(
            files,
            {
                "id": camera.id,
                "code": camera.code,
                "name": camera.name,
                "clips": [f["path"] for f in files],
                "gaps": gaps,
            },
        )

    def _make_clip(self, camera: CameraPlan, clip: ClipPlan) -> tuple[Path, ClipResult] | None:
        with tempfile.NamedTemporaryFile(
            dir=self._temp_dir, prefix="pkgclip-", suffix=".mp4", delete=False
        ) as tmp:
            path = Path(tmp.name)
        try:
            result = ClipWriter(self._store, self._index, self._temp_dir).write(
                clip.segments, clip.start, clip.end, path
            )
        except NoFootageError:
            path.unlink(missing_ok=True)
            return None
        except ClipError as exc:
            path.unlink(missing_ok=True)
            raise PackageError(f"camera {camera.code}: the clip cannot be made: {exc}") from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if result.integrity_failures:
            path.unlink(missing_ok=True)
            bad = ", ".join(str(i) for i in result.integrity_failures)
            raise StorageIntegrityError(
                f"camera {camera.code}: recorded segment(s) {bad} in object storage do not match their "
                "recorded SHA-256 (storage altered or damaged); the package was not built"
            )
        return path, result

    def _uncovered(
        self, camera: CameraPlan, window: Window, covered: list[tuple[datetime, datetime]]
    ) -> list[dict[str, Any]]:
        """Parts of the window no clip covers, with the recorder's reason where it recorded one."""
        holes: list[tuple[datetime, datetime]] = []
        edge = window.start
        for start, end in sorted(covered):
            if (start - edge).total_seconds() > GAP_TOLERANCE_S:
                holes.append((edge, start))
            edge = max(edge, end)
        if (window.end - edge).total_seconds() > GAP_TOLERANCE_S:
            holes.append((edge, window.end))
        out = []
        for start, end in holes:
            recorded = self._index.gaps(camera.id, start, end)
            out.append(self._gap(start, end, str(recorded[0].reason) if recorded else "not_recorded"))
        return out

    def _gap(self, start: datetime, end: datetime, reason: str) -> dict[str, Any]:
        return {"start": time_pair(start, self._zone), "end": time_pair(end, self._zone), "reason": reason}

    def _stamp(self, value: datetime) -> str:
        return value.astimezone(self._zone).strftime("%Y%m%dT%H%M%S")


def segment_entry(seg: Segment) -> dict[str, Any]:
    """A segment as the manifest lists it: every field its chain hash covers, and the chain hashes."""
    return {
        "id": seg.id,
        "camera_id": seg.camera_id,
        "stream": str(seg.stream),
        "seq": seg.seq,
        "start_at": segment_iso(seg.start_at),
        "end_at": segment_iso(seg.end_at),
        "clock_source": str(seg.clock_source),
        "bucket": seg.bucket,
        "object_key": seg.object_key,
        "size_bytes": seg.size_bytes,
        "sha256": seg.sha256,
        "salvaged": bool(seg.salvaged),
        "prev_chain_hash": seg.prev_chain_hash,
        "chain_hash": seg.chain_hash,
    }


class _Budget:
    """Reports up to ``units`` of progress as chunks pass, the rest when told."""

    def __init__(self, units: int, advance: Callable[[int], None]) -> None:
        self._left = units
        self._advance = advance

    def count(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self._spend(len(chunk))
            yield chunk

    def spend_rest(self) -> None:
        self._spend(self._left)

    def _spend(self, units: int) -> None:
        step = min(units, self._left)
        if step > 0:
            self._left -= step
            self._advance(step)


def _unique(name: str, writer: HashingZipWriter) -> str:
    taken = {m.path for m in writer.written}
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = name.removesuffix(".mp4") + f"_{n}.mp4"
    return candidate


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk
