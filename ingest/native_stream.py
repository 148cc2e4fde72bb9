"""NativeRtspStream: one camera connection read by the lean RTSP client (``ingest.rtsp``) into a StreamHub.

The handshake runs in the camera source's thread; the media is read by the shared ``RtspReactor`` thread,
which calls back here for every access unit. Streams this client does not take (B-frames, whose decode
order needs FFmpeg's timestamp reconstruction; codecs or packetizations it does not know; rtsps) end with
``NativeDeclined`` and the source reads them with FFmpeg instead.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from ingest.description import AudioTrack, StreamDescription, VideoTrack
from ingest.errors import SourceProblem, answered_problem, classify_read_error, connection_problem
from ingest.hub import StreamHub
from ingest.packet import MediaKind, MediaPacket
from ingest.rtsp.depacketize import AccessUnit, Depacketizer, UnsupportedPacketization, depacketizer_for
from ingest.rtsp.interleaved import InterleavedReader, TrackReception
from ingest.rtsp.messages import RtspProtocolError
from ingest.rtsp.reactor import RtspReactor
from ingest.rtsp.rtcp import receiver_report
from ingest.rtsp.sdp import MediaDescription, SdpError
from ingest.rtsp.session import RtspClient, RtspStatusError
from ingest.status import SourceState, StatusReason
from ingest.track_probe import ProbeError, probe_audio_track, probe_video_track
from ingest.wall_clock import PacketClock

log = logging.getLogger(__name__)

RECEIVER_REPORT_EVERY_S = 5.0
OPENING_FRAMES = 3
"""Frames held at the start of a connection: enough to see B-frames (IPB: the third frame goes back)."""
_FFMPEG_NAMES = {
    "H264": "h264",
    "H265": "hevc",
    "MPEG4-GENERIC": "aac",
    "MP4A-LATM": "aac_latm",
    "PCMA": "pcm_alaw",
    "PCMU": "pcm_mulaw",
    "JPEG": "mjpeg",
    "MP4V-ES": "mpeg4",
    "L16": "pcm_s16be",
}
# Any valid ADTS payload will do: the probe only reads the header's rate and channels.
_AAC_PROBE_UNIT = bytes.fromhex("0118200700") + bytes(40)
_G711_PROBE_UNIT = bytes(160)


class NativeDeclined(Exception):
    """The lean client does not take this stream; read it with FFmpeg (the message says why)."""


def codec_display_name(encoding: str) -> str:
    return _FFMPEG_NAMES.get(encoding.upper(), encoding.lower())


class SourceCallbacks(Protocol):
    """What the camera source offers the stream (``CameraSource`` implements it)."""

    def describe(self, video: VideoTrack, audio: AudioTrack | None, notes: tuple[str, ...]) -> None: ...

    def observe(self, packet: MediaPacket) -> None: ...


@dataclass(slots=True)
class _Track:
    kind: MediaKind
    media: MediaDescription
    depacketizer: Depacketizer
    reception: TrackReception
    time_base: Fraction
    channel: int
    first_raw: int | None = None
    last_raw: int = 0
    extended: int = 0
    offset: int | None = None
    """Added to the unwrapped timestamp to place this track on the video track's time line."""
    rtcp_start_us: int | None = None
    last_pts: int | None = None
    frame_step: int = 0
    last_step: int = 0


class NativeRtspStream:
    def __init__(
        self,
        source: SourceCallbacks,
        url: str,
        username: str | None,
        password: str | None,
        hub: StreamHub,
        open_timeout_s: float,
        read_timeout_s: float,
        reactor: RtspReactor,
        shown_url: str,
    ) -> None:
        self._source = source
        self._client = RtspClient(url, username, password, open_timeout_s)
        self._hub = hub
        self._read_timeout_s = read_timeout_s
        self._reactor = reactor
        self._shown_url = shown_url
        self._ended = threading.Event()
        self._problem: SourceProblem | NativeDeclined | None = None
        self._tracks: list[_Track] = []
        self._reader: InterleavedReader | None = None
        self._clock = PacketClock()
        self._description: StreamDescription | None = None
        self._opening: list[tuple[AccessUnit, int, float]] = []
        self._video_anchor_arrival = 0.0
        self._notes: tuple[str, ...] = ()
        self._last_data = time.monotonic()
        self._next_keepalive = 0.0
        self._next_report = 0.0

    @property
    def sock(self) -> socket.socket:
        return self._client.sock

    # ---- the source thread -------------------------------------------------------------------------

    def run(self) -> SourceProblem | NativeDeclined | None:
        """Connect, stream until the connection ends or ``stop()``; returns why it ended."""
        try:
            leftover = self._handshake()
        except (SourceProblem, NativeDeclined) as problem:
            self._client.close()
            return problem
        except Exception as error:  # every failure becomes a status a person can read
            self._client.close()
            return self._open_problem(error)
        now = time.monotonic()
        self._last_data = now
        self._next_keepalive = now + self._client.session_timeout_s / 2
        self._next_report = now + RECEIVER_REPORT_EVERY_S
        try:
            if leftover:
                self.data_received(leftover, time.time())
            self._reactor.add(self)
            self._ended.wait()
        except NativeDeclined as declined:
            self._problem = declined
        except Exception as error:
            self._problem = classify_read_error(error, self._shown_url)
        finally:
            self._reactor.remove(self)
            self._client.teardown()
        return self._problem

    def stop(self) -> None:
        self._ended.set()

    def _handshake(self) -> bytes:
        medias = self._client.describe()
        video = next((m for m in medias if m.kind == "video"), None)
        if video is None:
            raise SourceProblem(
                StatusReason.NO_VIDEO_TRACK,
                f"the stream at {self._shown_url} has no video track; pick another stream/profile",
                SourceState.ERROR,
            )
        video_depacketizer = _depacketizer(video)
        assert video_depacketizer is not None  # _depacketizer declines instead
        audio: tuple[MediaDescription, Depacketizer] | None = None
        notes: list[str] = []
        for media in medias:
            if media.kind != "audio":
                continue
            depacketizer = None if audio is not None else _depacketizer(media, declining=False)
            if depacketizer is not None:
                audio = (media, depacketizer)
            else:
                notes.append(
                    f"audio track in {codec_display_name(media.encoding)} ignored "
                    "(supported: AAC, G.711 A-law/mu-law)"
                )
        self._notes = tuple(notes)
        chosen: list[tuple[MediaKind, MediaDescription, Depacketizer]] = [
            (MediaKind.VIDEO, video, video_depacketizer)
        ]
        if audio is not None:
            chosen.append((MediaKind.AUDIO, audio[0], audio[1]))
        channels: dict[int, int] = {}
        for kind, media, depacketizer in chosen:
            playing = self._client.setup(media)
            channels[playing.channel] = len(self._tracks)
            reception = TrackReception(depacketizer)
            time_base = Fraction(1, media.clock_rate)
            self._tracks.append(_Track(kind, media, depacketizer, reception, time_base, playing.channel))
        self._tracks[0].offset = 0
        self._reader = InterleavedReader(channels, [t.reception for t in self._tracks], self._on_units)
        return self._client.play()

    def _open_problem(self, error: Exception) -> SourceProblem:
        if isinstance(error, RtspStatusError):
            answer = f"{error.method}: {error.status} {error.reason}".strip()
            return answered_problem(error.status, self._shown_url, answer)
        if isinstance(error, (RtspProtocolError, SdpError)):
            return connection_problem(TimeoutError(), self._shown_url)
        return connection_problem(error, self._shown_url)

    # ---- the reactor thread ------------------------------------------------------------------------------

    def data_received(self, chunk: bytes, arrival: float) -> None:
        self._last_data = time.monotonic()
        assert self._reader is not None
        self._reader.feed(chunk, arrival)

    def housekeeping(self, now: float) -> None:
        if now - self._last_data > self._read_timeout_s:
            raise TimeoutError("no data from the camera")
        if now >= self._next_keepalive:
            self._next_keepalive = now + self._client.session_timeout_s / 2
            self._send(self._client.keepalive_request())
        if now >= self._next_report:
            self._next_report = now + RECEIVER_REPORT_EVERY_S
            for track in self._tracks:
                reception = track.reception
                if reception.ssrc == 0:
                    continue
                since = time.time() - reception.sender_report_at if reception.last_sender_report else 0.0
                report = receiver_report(
                    0x5941_5244,
                    reception.ssrc,
                    reception.highest_sequence,
                    reception.last_sender_report,
                    since,
                )
                header = b"$" + bytes([track.channel + 1]) + len(report).to_bytes(2, "big")
                self._send(header + report)

    def connection_lost(self, error: BaseException | None) -> None:
        if self._problem is None and not self._ended.is_set():
            if isinstance(error, NativeDeclined):
                self._problem = error
            elif error is None:
                self._problem = SourceProblem(
                    StatusReason.STREAM_ENDED, f"the camera at {self._shown_url} ended the stream"
                )
            elif isinstance(error, Exception):
                if not isinstance(error, (OSError, TimeoutError)):
                    log.warning("camera %s: stream broken: %r", self._shown_url, error)
                self._problem = classify_read_error(error, self._shown_url)
        self._ended.set()

    def _send(self, data: bytes) -> None:
        # A full send buffer drops this keep-alive or report; the next one will try again.
        with contextlib.suppress(BlockingIOError):
            self._client.sock.send(data)

    def _on_units(self, track_index: int, units: list[AccessUnit], arrival: float) -> None:
        track = self._tracks[track_index]
        for unit in units:
            if track.first_raw is None:
                track.first_raw = unit.timestamp
                extended = 0
            else:
                delta = (unit.timestamp - track.last_raw) & 0xFFFFFFFF
                extended = track.extended + (delta - 0x1_0000_0000 if delta & 0x8000_0000 else delta)
            track.last_raw = unit.timestamp
            track.extended = extended
            if track.kind is MediaKind.VIDEO:
                self._video_unit(track, unit, extended, arrival)
            else:
                self._audio_unit(track, unit, extended, arrival)

    def _video_unit(self, track: _Track, unit: AccessUnit, extended: int, arrival: float) -> None:
        if self._description is None:
            # The connection's first frames are held until they show whether the stream has B-frames
            # (decode order differs from presentation order), before anything is published.
            if not self._opening and not unit.keyframe:
                return
            self._opening.append((unit, extended, arrival))
            if len(self._opening) < OPENING_FRAMES:
                return
            opening, self._opening = self._opening, []
            steps = [b[1] - a[1] for a, b in itertools.pairwise(opening)]
            if any(step < 0 for step in steps):
                raise NativeDeclined("the camera sends B-frames")
            track.frame_step = next((step for step in steps if step > 0), 0)
            self._begin(track, opening[0][0], track.frame_step)
            self._video_anchor_arrival = opening[0][2]
            for held, held_extended, held_arrival in opening:
                self._publish(track, held, held_extended, held_arrival)
            return
        if track.last_pts is not None:
            step = extended - track.last_pts
            if -track.media.clock_rate < step < 0:  # a reordered frame; a larger step back is a reset
                raise NativeDeclined("the camera sends B-frames")
            if step > 0:
                # A frame lasts until the next one. A step far longer than the last frames' is a hole in the
                # stream, not a frame duration, unless the camera keeps that pace (its frame rate changed).
                usual = max(2 * track.frame_step, track.media.clock_rate // 10)
                if step <= usual or abs(step - track.last_step) * 10 <= step:
                    track.frame_step = step
                track.last_step = step
        self._publish(track, unit, extended, arrival)

    def _audio_unit(self, track: _Track, unit: AccessUnit, extended: int, arrival: float) -> None:
        description = self._description
        if description is None or description.audio is None:
            return
        if track.offset is None:
            rate = track.media.clock_rate
            track.offset = round((arrival - self._video_anchor_arrival) * rate) - extended
        self._publish(track, unit, extended, arrival)

    def _begin(self, video: _Track, keyframe: AccessUnit, step: int) -> None:
        frame_rate = Fraction(video.media.clock_rate, step) if step else None
        try:
            video_track: VideoTrack = probe_video_track(
                video.depacketizer.codec_name, keyframe.data, video.depacketizer.extradata(), frame_rate
            )
        except ProbeError as error:
            raise NativeDeclined(str(error)) from None
        audio_track: AudioTrack | None = None
        notes = list(self._notes)
        for track in self._tracks[1:]:
            name = track.depacketizer.codec_name
            unit = _AAC_PROBE_UNIT if name == "aac" else _G711_PROBE_UNIT
            try:
                audio_track = probe_audio_track(
                    name, unit, track.media.clock_rate, track.media.channels, track.depacketizer.extradata()
                )
            except ProbeError as error:
                notes.append(f"audio track ignored: {error}")
        self._description = self._hub.begin_epoch(video_track, audio_track, tuple(notes))
        self._source.describe(video_track, audio_track, tuple(notes))

    def _publish(self, track: _Track, unit: AccessUnit, extended: int, arrival: float) -> None:
        description = self._description
        assert description is not None and track.offset is not None
        pts = extended + track.offset
        if track.rtcp_start_us is None and track.reception.last_sender_report is not None:
            track.rtcp_start_us = self._rtcp_start_us(track)
        stamp = self._clock.stamp(track.kind, pts, pts, track.time_base, arrival, track.rtcp_start_us)
        packet = MediaPacket(
            kind=track.kind,
            data=unit.data,
            pts=pts,
            dts=pts,
            duration=track.frame_step if track.kind is MediaKind.VIDEO else unit.duration,
            time_base=track.time_base,
            is_keyframe=unit.keyframe,
            wall_time=stamp.wall_time,
            clock_source=stamp.clock_source,
            epoch=description.epoch,
            discontinuity=stamp.discontinuity,
        )
        track.last_pts = pts
        self._hub.publish(packet)
        self._source.observe(packet)

    @staticmethod
    def _rtcp_start_us(track: _Track) -> int:
        report = track.reception.last_sender_report
        assert report is not None and track.first_raw is not None and track.offset is not None
        delta = (report.rtp_timestamp - track.first_raw) & 0xFFFFFFFF
        report_extended = delta - 0x1_0000_0000 if delta & 0x8000_0000 else delta
        return round((report.ntp_time - (report_extended + track.offset) / track.media.clock_rate) * 1e6)


def _depacketizer(media: MediaDescription, declining: bool = True) -> Depacketizer | None:
    try:
        depacketizer = depacketizer_for(media)
    except UnsupportedPacketization as error:
        if declining:
            raise NativeDeclined(str(error)) from None
        return None
    if depacketizer is None and declining:
        raise NativeDeclined(f"{codec_display_name(media.encoding)} video is not read by the lean client")
    return depacketizer
