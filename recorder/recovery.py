"""Crash recovery of the spool at start: requeue finished segments, salvage the ones a crash cut short.

A partial segment (``.partial.json`` without ``.json``) is cut back to its last complete MP4 fragment,
its end time read from the last whole packet, and it is queued as ``salvaged``; from its end a gap of
reason ``recorder_restart`` stays open until the camera records again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import av
import av.error

from recorder.fmp4 import complete_length
from recorder.index import SegmentIndex
from recorder.models import GapReason
from recorder.segment_files import SpooledSegment, fsync_file, remove_quietly, sha256_of
from recorder.spool import PartialSegment, Spool

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RecoveryReport:
    requeued: int = 0
    salvaged: list[SpooledSegment] = field(default_factory=list)
    discarded: int = 0
    unreadable: list[Path] = field(default_factory=list)


def recover_spool(spool: Spool, index: SegmentIndex) -> RecoveryReport:
    """Queue what the spool holds after a restart, salvaging partial segments and recording their gaps."""
    scan = spool.scan()
    report = RecoveryReport(unreadable=list(scan.unknown))
    for segment in scan.finished:
        spool.adopt(segment)
        report.requeued += 1
    for partial in scan.partial:
        header = partial.header
        salvaged = salvage_partial(spool, partial)
        if salvaged is None:
            report.discarded += 1
            gap_start = header.start_at
        else:
            report.salvaged.append(salvaged)
            gap_start = salvaged.end_at
        try:
            index.open_gap(
                header.camera_id,
                header.stream,
                gap_start,
                GapReason.RECORDER_RESTART,
                "recorder stopped unexpectedly; recording resumes when it restarts",
            )
        except Exception:
            log.exception("recovery: could not record the restart gap of camera %s", header.camera_code)
    for path in report.unreadable:
        log.error("recovery: %s is not a recognisable spool file; left in place", path)
    return report


def salvage_partial(spool: Spool, partial: PartialSegment) -> SpooledSegment | None:
    """Turn a crashed segment into a finished one (``None`` if nothing whole was written) and commit it."""
    header, media = partial.header, partial.media_path
    if not media.exists():
        spool.abandon(header)
        return None
    whole = complete_length(media)
    if whole == 0:
        log.warning("recovery: %s holds no complete fragment; discarded", media.name)
        spool.abandon(header)
        return None
    if whole < media.stat().st_size:
        with media.open("r+b") as f:
            f.truncate(whole)
    try:
        presentation_end_s = _presentation_end_seconds(media)
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        log.error("recovery: %s cannot be read back (%s); moved aside", media.name, exc)
        media.rename(media.with_name(media.name + ".damaged"))
        remove_quietly(partial.header_path)
        return None
    if presentation_end_s is None:
        spool.abandon(header)
        return None
    fsync_file(media)
    end = header.start_at + timedelta(seconds=max(0.0, float(presentation_end_s) - header.first_pts_s))
    segment = SpooledSegment(
        header=header,
        end_at=end,
        size_bytes=media.stat().st_size,
        sha256=sha256_of(media),
        salvaged=True,
        media_path=media,
    )
    spool.commit(segment)
    log.warning(
        "recovery: salvaged %s of camera %s (%.1f s)", media.name, header.camera_code, segment.duration_s
    )
    return segment


def _presentation_end_seconds(media: Path) -> Fraction | None:
    """End of the last video frame, in the file's timeline (seconds); None without video packets."""
    end: Fraction | None = None
    with av.open(str(media)) as container:
        stream = container.streams.video[0]
        time_base = stream.time_base
        if time_base is None:
            raise ValueError("video stream without a time base")
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            packet_end = (packet.pts + (packet.duration or 0)) * time_base
            if end is None or packet_end > end:
                end = packet_end
    return end
