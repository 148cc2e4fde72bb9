"""SegmentWriter: one camera stream's hub items in, keyframe-aligned fragmented MP4 segments in the spool out.

No decoding: packets are remuxed as they are. A segment is cut at the first video keyframe at or after the
target duration, and whenever the stream breaks (camera lost, reconnect, timestamp jump, subscriber
overflow); a break is reported as an interruption and the next segment's start as the resumption, which the
caller turns into recording gaps. Each file's timestamps start at 0 (the first video packet's dts).

Files are written with ``frag_keyframe`` and a ``frag_duration`` of about a second and flushed per packet,
so a process killed mid-segment leaves a file readable up to its last complete fragment.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Protocol

import av
import av.container
import av.error
import av.stream

from ingest.description import StreamDescription
from ingest.output_streams import add_output_stream
from ingest.packet import GapReason as HubGapReason
from ingest.packet import MediaKind, MediaPacket, StreamGap
from ingest.subscription import HubItem
from recorder.fmp4 import complete_length
from recorder.index import MAX_SEGMENT_SECONDS
from recorder.models import ClockSource, GapReason, StreamKind
from recorder.segment_files import SegmentHeader, SpooledSegment, fsync_file, sha256_of
from recorder.spool import Spool

log = logging.getLogger(__name__)

MOV_ONLY_AUDIO = frozenset({"pcm_alaw", "pcm_mulaw"})
"""Audio codecs the mp4 muxer refuses: such streams are written as (fragmented) QuickTime .mov."""

_SNAP_S = 0.1
MAX_TIMESTAMP_STEP_S = 5.0
"""A forward dts step larger than this between two video packets is treated as a timestamp jump."""


class RecordingEvents(Protocol):
    """What a SegmentWriter reports; the camera recorder turns it into index gaps and metrics."""

    def segment_finished(self, segment: SpooledSegment) -> None: ...

    def recording_interrupted(self, at: datetime, reason: GapReason, detail: str) -> None: ...

    def recording_resumed(self, at: datetime) -> None: ...


@dataclass(slots=True)
class _OpenSegment:
    header: SegmentHeader
    container: av.container.OutputContainer
    video: av.stream.Stream
    audio: av.stream.Stream | None
    video_time_base: Fraction
    audio_time_base: Fraction | None
    origin_dts: int
    origin_s: Fraction
    epoch: int
    last_video_dts: int
    last_audio_dts: int | None = None
    presentation_end_ticks: int = 0
    """Video pts + duration of the latest-ending frame, in ``video_time_base`` units from the origin."""
    video_packets: int = 0
    dropped_packets: int = 0


class SegmentWriter:
    """Writes one camera stream into spooled segments. Not thread-safe: feed it from one thread."""

    def __init__(
        self,
        *,
        camera_id: int,
        camera_code: str,
        stream: StreamKind,
        spool: Spool,
        events: RecordingEvents,
        segment_seconds: float = 10.0,
        fragment_seconds: float = 1.0,
    ) -> None:
        self.camera_id = camera_id
        self.camera_code = camera_code
        self.stream = stream
        self._spool = spool
        self._events = events
        self._segment_seconds = segment_seconds
        self._fragment_seconds = fragment_seconds
        self._description: StreamDescription | None = None
        self._open: _OpenSegment | None = None
        self._gap_open = False
        self._resumed_once = False
        self._last_end: datetime | None = None
        self.skipped_packets = 0

    @property
    def recording(self) -> bool:
        return self._open is not None

    def handle(self, item: HubItem) -> None:
        if isinstance(item, MediaPacket):
            self._on_packet(item)
        elif isinstance(item, StreamDescription):
            self._on_description(item)
        elif isinstance(item, StreamGap):
            self._on_gap(item)

    def close(self, reason: GapReason = GapReason.RECORDER_STOPPED, detail: str = "recorder stopped") -> None:
        """Finish the current segment; what follows is a gap of ``reason`` until recording resumes."""
        if self._open is not None:
            end = self._finish()
            self._interrupt(end, reason, detail)

    # ---- hub items -----------------------------------------------------------------------------------

    def _on_description(self, description: StreamDescription) -> None:
        if self._open is not None and self._open.epoch != description.epoch:
            end = self._finish()
            self._interrupt(end, GapReason.STREAM_CHANGED, "camera stream restarted (new connection)")
        self._description = description

    def _on_gap(self, gap: StreamGap) -> None:
        at = self._finish() if self._open is not None else _from_unix(gap.wall_time)
        if gap.reason is HubGapReason.SOURCE_LOST:
            self._interrupt(at, GapReason.CAMERA_OFFLINE, gap.message or "camera offline")
        else:
            self._interrupt(at, GapReason.SUBSCRIBER_OVERFLOW, gap.message or "recorder fell behind")

    def _on_packet(self, packet: MediaPacket) -> None:
        description = self._description
        if description is None or packet.epoch != description.epoch or packet.dts is None:
            self.skipped_packets += 1
            return
        if packet.kind is MediaKind.AUDIO:
            if self._open is not None and self._open.audio is not None:
                self._write_audio(self._open, packet)
            return
        current = self._open
        forced_cut = False
        if current is not None:
            jump = self._timestamp_jump(current, packet)
            if jump:
                end = self._finish()
                self._interrupt(end, GapReason.TIMESTAMP_JUMP, jump)
                current = None
            else:
                time_base = current.video_time_base
                elapsed = (packet.dts - current.origin_dts) * time_base.numerator / time_base.denominator
                forced_cut = elapsed >= MAX_SEGMENT_SECONDS  # no keyframe for far too long
                if forced_cut or (packet.is_keyframe and elapsed >= self._segment_seconds):
                    self._finish(next_start=_from_unix(packet.wall_time))
                    current = None
        if current is None:
            if not packet.is_keyframe and not forced_cut:
                self.skipped_packets += 1
                return
            current = self._start(description, packet)
            if current is None:
                return
        self._write_video(current, packet)

    # ---- segments ------------------------------------------------------------------------------------

    def _start(self, description: StreamDescription, first: MediaPacket) -> _OpenSegment | None:
        assert first.dts is not None
        start = _from_unix(first.wall_time)
        audio_track = description.audio
        container_format = (
            "mov" if audio_track is not None and audio_track.codec_name in MOV_ONLY_AUDIO else "mp4"
        )
        origin_s = first.dts * first.time_base
        first_pts = first.pts if first.pts is not None else first.dts
        header = SegmentHeader(
            uid=uuid.uuid4().hex,
            camera_id=self.camera_id,
            camera_code=self.camera_code,
            stream=self.stream,
            start_at=start,
            clock_source=ClockSource(str(first.clock_source)),
            container=container_format,
            video_codec=description.video.codec_name,
            width=description.video.width or None,
            height=description.video.height or None,
            audio_codec=audio_track.codec_name if audio_track is not None else None,
            first_pts_s=float((first_pts - first.dts) * first.time_base),
            starts_with_keyframe=first.is_keyframe,
        )
        path = self._spool.begin(header)
        try:
            container = av.open(
                str(path),
                "w",
                format=container_format,
                options={
                    "movflags": "frag_keyframe+empty_moov+default_base_moof",
                    "frag_duration": str(int(self._fragment_seconds * 1_000_000)),
                    "flush_packets": "1",
                },
            )
            video = add_output_stream(container, description.video)
            audio = add_output_stream(container, audio_track) if audio_track is not None else None
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            log.error("camera %s: cannot open segment file %s: %s", self.camera_code, path, exc)
            self._spool.abandon(header)
            return None
        if self._gap_open or not self._resumed_once:
            self._resumed_once = True
            self._gap_open = False
            self._notify(lambda: self._events.recording_resumed(start))
        self._open = _OpenSegment(
            header=header,
            container=container,
            video=video,
            audio=audio,
            video_time_base=first.time_base,
            audio_time_base=audio_track.time_base if audio_track is not None else None,
            origin_dts=first.dts,
            origin_s=origin_s,
            epoch=first.epoch,
            last_video_dts=first.dts - 1,
        )
        return self._open

    def _finish(self, next_start: datetime | None = None) -> datetime:
        """Close the open segment, queue it in the spool; returns its wall-clock end.

        On a plain cut the end is the next segment's start (when the clocks agree within a frame or so),
        so that consecutive segments tile the timeline without slivers of overlap or hole.
        """
        current = self._open
        assert current is not None
        self._open = None
        header = current.header
        end = header.start_at + timedelta(
            seconds=max(
                0.0, float(current.presentation_end_ticks * current.video_time_base) - header.first_pts_s
            )
        )
        if next_start is not None and abs((next_start - end).total_seconds()) <= _SNAP_S:
            end = next_start
        self._last_end = end
        try:
            current.container.close()
        except (av.error.FFmpegError, OSError) as exc:
            log.error("camera %s: closing %s failed: %s", self.camera_code, header.media_name, exc)
        path = self._spool.directory_for(header) / header.media_name
        if current.video_packets == 0 or not path.exists():
            self._spool.abandon(header)
            return end
        whole = complete_length(path)
        if whole == 0:
            log.error("camera %s: %s holds no complete fragment; dropped", self.camera_code, path.name)
            self._spool.abandon(header)
            return end
        if whole < path.stat().st_size:
            with path.open("r+b") as f:
                f.truncate(whole)
        fsync_file(path)
        segment = SpooledSegment(
            header=header,
            end_at=end,
            size_bytes=path.stat().st_size,
            sha256=sha256_of(path),
            salvaged=False,
            media_path=path,
        )
        self._spool.commit(segment)
        self._notify(lambda: self._events.segment_finished(segment))
        return end

    def _write_video(self, current: _OpenSegment, packet: MediaPacket) -> None:
        assert packet.dts is not None
        dts = packet.dts - current.origin_dts
        pts = (packet.pts if packet.pts is not None else packet.dts) - current.origin_dts
        duration = packet.duration
        if duration <= 0 and current.video_packets > 0:
            duration = max(0, packet.dts - current.last_video_dts)
        if self._mux(current, current.video, packet, pts, dts, duration):
            current.video_packets += 1
            current.last_video_dts = packet.dts
            if pts + duration > current.presentation_end_ticks:
                current.presentation_end_ticks = pts + duration

    def _write_audio(self, current: _OpenSegment, packet: MediaPacket) -> None:
        assert packet.dts is not None and current.audio is not None
        offset = round(current.origin_s / packet.time_base)
        dts = packet.dts - offset
        pts = (packet.pts if packet.pts is not None else packet.dts) - offset
        if dts < 0 or (current.last_audio_dts is not None and dts <= current.last_audio_dts):
            current.dropped_packets += 1  # belongs before this segment's first keyframe
            return
        if self._mux(current, current.audio, packet, pts, dts, packet.duration):
            current.last_audio_dts = dts

    def _mux(
        self,
        current: _OpenSegment,
        stream: av.stream.Stream,
        packet: MediaPacket,
        pts: int,
        dts: int,
        duration: int,
    ) -> bool:
        out = av.Packet(packet.data)
        out.pts, out.dts, out.duration = pts, dts, duration
        out.time_base = packet.time_base
        out.is_keyframe = packet.is_keyframe
        out.stream = stream
        try:
            current.container.mux(out)
        except (av.error.FFmpegError, ValueError) as exc:
            current.dropped_packets += 1
            log.warning("camera %s: packet not written: %s", self.camera_code, exc)
            return False
        return True

    # ---- breaks --------------------------------------------------------------------------------------

    @staticmethod
    def _timestamp_jump(current: _OpenSegment, packet: MediaPacket) -> str:
        assert packet.dts is not None
        if packet.discontinuity:
            return "camera timestamps jumped (discontinuity)"
        if packet.time_base != current.video_time_base:
            return "video time base changed"
        if packet.dts <= current.last_video_dts and current.video_packets > 0:
            return f"video timestamps went backwards ({packet.dts} after {current.last_video_dts})"
        time_base = packet.time_base
        step = (packet.dts - current.last_video_dts) * time_base.numerator / time_base.denominator
        if current.video_packets > 0 and step > MAX_TIMESTAMP_STEP_S:
            return f"video timestamps jumped forward by {step:.1f} s"
        return ""

    def _interrupt(self, at: datetime, reason: GapReason, detail: str) -> None:
        if self._gap_open:
            return
        self._gap_open = True
        self._notify(lambda: self._events.recording_interrupted(at, reason, detail))

    def _notify(self, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:
            log.exception("camera %s: recording event handler failed", self.camera_code)


def _from_unix(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
