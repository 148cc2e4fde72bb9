"""Spool: the local directory where finished segments wait for upload, bounded in size.

Layout: ``<root>/<camera_code>/<stream>/<base>.{mp4,json,partial.json}`` (see ``recorder.segment_files``).
When the finished segments exceed ``max_bytes`` the oldest footage not linked to an inspection batch is
evicted first (then the oldest linked footage), and ``on_evict`` is told about each evicted segment.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from recorder.segment_files import (
    FINISHED_SUFFIX,
    MEDIA_SUFFIXES,
    PARTIAL_SUFFIX,
    SegmentHeader,
    SpooledSegment,
    header_from_json,
    header_to_json,
    remove_quietly,
    segment_from_json,
    segment_to_json,
    write_json_atomically,
)

log = logging.getLogger(__name__)

LinkCheck = Callable[[int, datetime, datetime], bool]
"""``is_linked(camera_id, start, end)``: whether that footage belongs to an inspection batch."""

EvictionCallback = Callable[[SpooledSegment], None]


@dataclass(slots=True)
class PartialSegment:
    """A segment whose writing never finished (the process died): its header and media file, if any."""

    header: SegmentHeader
    header_path: Path
    media_path: Path


@dataclass(slots=True)
class SpoolScan:
    """What a spool directory holds after a restart."""

    finished: list[SpooledSegment] = field(default_factory=list)
    partial: list[PartialSegment] = field(default_factory=list)
    unknown: list[Path] = field(default_factory=list)


class Spool:
    """Thread-safe queue of finished segments on disk, oldest first, with claim/release for uploaders."""

    def __init__(
        self,
        root: Path,
        max_bytes: int,
        *,
        is_linked: LinkCheck | None = None,
        on_evict: EvictionCallback | None = None,
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._is_linked = is_linked
        self._on_evict = on_evict
        self._cond = threading.Condition()
        self._pending: dict[str, SpooledSegment] = {}
        self._claimed: set[str] = set()
        self._bytes = 0
        root.mkdir(parents=True, exist_ok=True)

    # ---- writer side ---------------------------------------------------------------------------------

    def directory_for(self, header: SegmentHeader) -> Path:
        return self.root / header.camera_code / str(header.stream)

    def begin(self, header: SegmentHeader) -> Path:
        """Record that a segment opens (its ``.partial.json``) and return the path to write the media to."""
        directory = self.directory_for(header)
        directory.mkdir(parents=True, exist_ok=True)
        write_json_atomically(directory / (header.base_name + PARTIAL_SUFFIX), header_to_json(header))
        return directory / header.media_name

    def abandon(self, header: SegmentHeader) -> None:
        """Forget a segment that produced nothing worth keeping."""
        directory = self.directory_for(header)
        remove_quietly(directory / header.media_name, directory / (header.base_name + PARTIAL_SUFFIX))

    def commit(self, segment: SpooledSegment) -> None:
        """Mark a segment finished (its sidecar), queue it for upload, then keep the spool within bounds."""
        write_json_atomically(segment.sidecar_path, segment_to_json(segment))
        remove_quietly(segment.media_path.with_name(segment.header.base_name + PARTIAL_SUFFIX))
        self.adopt(segment)

    def adopt(self, segment: SpooledSegment) -> None:
        """Queue a segment that is already finished on disk (recovery)."""
        with self._cond:
            if segment.uid not in self._pending:
                self._pending[segment.uid] = segment
                self._bytes += segment.size_bytes
            self._cond.notify_all()
        self._enforce_bound()

    # ---- uploader side -------------------------------------------------------------------------------

    def claim_next(self, timeout: float | None = None) -> SpooledSegment | None:
        """The oldest unclaimed segment of a camera with no other segment claimed (keeps per-camera order)."""
        with self._cond:
            found = self._next_claimable_locked()
            if found is None and timeout:
                self._cond.wait(timeout)
                found = self._next_claimable_locked()
            if found is not None:
                self._claimed.add(found.uid)
            return found

    def release(self, segment: SpooledSegment) -> None:
        """Give a claimed segment back (its upload failed; it will be retried)."""
        with self._cond:
            self._claimed.discard(segment.uid)
            self._cond.notify_all()

    def remove(self, segment: SpooledSegment) -> None:
        """Delete an uploaded and indexed segment's files."""
        remove_quietly(segment.media_path, segment.sidecar_path)
        with self._cond:
            self._claimed.discard(segment.uid)
            if self._pending.pop(segment.uid, None) is not None:
                self._bytes -= segment.size_bytes
            self._cond.notify_all()

    # ---- state ---------------------------------------------------------------------------------------

    @property
    def used_bytes(self) -> int:
        with self._cond:
            return self._bytes

    def pending(self) -> list[SpooledSegment]:
        """Finished segments waiting for upload, oldest first."""
        with self._cond:
            return sorted(self._pending.values(), key=_age)

    def wait_until_empty(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending, timeout)

    def notify(self) -> None:
        """Wake uploaders waiting in ``claim_next``."""
        with self._cond:
            self._cond.notify_all()

    def scan(self) -> SpoolScan:
        """Read the directory tree as a restarted process finds it (does not queue anything)."""
        result = SpoolScan()
        known: set[Path] = set()
        for sidecar in sorted(self.root.glob(f"*/*/*{FINISHED_SUFFIX}")):
            if sidecar.name.endswith(PARTIAL_SUFFIX):
                continue
            try:
                segment = segment_from_json(_read_json(sidecar), sidecar.parent)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error("spool: unreadable sidecar %s (%s); left in place", sidecar, exc)
                result.unknown.append(sidecar)
                continue
            known.update({sidecar, segment.media_path, _partial_path(sidecar)})
            remove_quietly(_partial_path(sidecar))  # crashed between commit's two steps
            if segment.media_path.exists():
                result.finished.append(segment)
            else:
                log.error("spool: %s has no media file; dropping the sidecar", sidecar)
                remove_quietly(sidecar)
        for partial in sorted(self.root.glob(f"*/*/*{PARTIAL_SUFFIX}")):
            if partial in known:
                continue
            try:
                header = header_from_json(_read_json(partial))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error("spool: unreadable partial header %s (%s); left in place", partial, exc)
                result.unknown.append(partial)
                continue
            media = partial.parent / header.media_name
            known.update({partial, media})
            result.partial.append(PartialSegment(header, partial, media))
        for path in sorted(self.root.glob("*/*/*")):
            if path.suffix in MEDIA_SUFFIXES and path not in known:
                result.unknown.append(path)
            elif path.name.endswith(".tmp"):
                remove_quietly(path)
        result.finished.sort(key=_age)
        result.partial.sort(key=lambda p: p.header.start_at)
        return result

    # ---- internals -----------------------------------------------------------------------------------

    def _next_claimable_locked(self) -> SpooledSegment | None:
        busy = {self._pending[uid].camera_id for uid in self._claimed if uid in self._pending}
        for segment in sorted(self._pending.values(), key=_age):
            if segment.uid not in self._claimed and segment.camera_id not in busy:
                return segment
            busy.add(segment.camera_id)  # an older segment of this camera waits: keep order
        return None

    def _enforce_bound(self) -> None:
        while True:
            victim = self._choose_victim()
            if victim is None:
                return
            log.warning(
                "spool over %d bytes: evicting %s (camera %s, %s)",
                self.max_bytes,
                victim.media_path.name,
                victim.header.camera_code,
                victim.start_at.isoformat(),
            )
            remove_quietly(victim.media_path, victim.sidecar_path)
            with self._cond:
                self._cond.notify_all()
            if self._on_evict is not None:
                try:
                    self._on_evict(victim)
                except Exception:
                    log.exception("spool eviction callback failed")

    def _choose_victim(self) -> SpooledSegment | None:
        """Take the segment to evict out of the queue (so no uploader can claim it any more)."""
        while True:
            with self._cond:
                if self._bytes <= self.max_bytes:
                    return None
                candidates = [
                    s for s in sorted(self._pending.values(), key=_age) if s.uid not in self._claimed
                ]
            if not candidates:
                return None
            choice = next((s for s in candidates if not self._linked(s)), candidates[0])
            with self._cond:
                if choice.uid in self._pending and choice.uid not in self._claimed:
                    del self._pending[choice.uid]
                    self._bytes -= choice.size_bytes
                    return choice

    def _linked(self, segment: SpooledSegment) -> bool:
        if self._is_linked is None:
            return False
        try:
            return self._is_linked(segment.camera_id, segment.start_at, segment.end_at)
        except Exception:
            log.exception("spool: batch link check failed; treating the footage as linked")
            return True


def _age(segment: SpooledSegment) -> tuple[datetime, str]:
    return (segment.start_at, segment.uid)


def _partial_path(sidecar: Path) -> Path:
    return sidecar.with_name(sidecar.name.removesuffix(FINISHED_SUFFIX) + PARTIAL_SUFFIX)


def _read_json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data
