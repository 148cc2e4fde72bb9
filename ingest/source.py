"""CameraSource: pulls one camera stream over RTSP/TCP with PyAV (no decoding) into a StreamHub."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import av
import av.container
import av.error
import av.stream

from ingest.backoff import BackoffPolicy
from ingest.description import AudioTrack, VideoTrack
from ingest.errors import SourceProblem, classify_open_error, classify_read_error
from ingest.hub import StreamHub
from ingest.native_stream import NativeDeclined, NativeRtspStream
from ingest.output_streams import capture_codec_template
from ingest.packet import ClockSource, MediaKind, MediaPacket
from ingest.rate_meter import RateMeter
from ingest.rtsp.reactor import RtspReactor, shared_reactor
from ingest.rtsp_url import RtspUrlError, build_rtsp_url, redact_rtsp_url, url_credentials, validate_rtsp_url
from ingest.status import SourceState, SourceStatus, StatusReason
from ingest.wall_clock import PacketClock

log = logging.getLogger(__name__)

VIDEO_CODECS = frozenset({"h264", "hevc"})
AUDIO_CODECS = frozenset({"aac", "pcm_alaw", "pcm_mulaw"})


@dataclass(frozen=True, slots=True)
class SourceTimeouts:
    open_s: float = 5.0
    """How long connecting and the RTSP handshake may take."""
    read_s: float = 5.0
    """How long the camera may send nothing before it counts as gone."""


@dataclass(frozen=True, slots=True)
class _Stamping:
    """What turning one demuxed packet into a MediaPacket needs besides the packet."""

    kinds: dict[int, MediaKind]
    clock: PacketClock
    epoch: int
    arrival: float
    rtcp_start_us: int | None


class CameraSource:
    """One camera stream (main and sub streams are separate sources), run in its own thread.

    ``start()`` connects in the background and keeps reconnecting (exponential backoff with jitter; a long
    wait when the credentials are refused) until ``stop()``. ``status()`` tells how it is going.

    Media is read by the lean RTSP client (``ingest.rtsp``: one reactor thread for all cameras, large
    reads); a stream it declines (B-frames, rtsps, codecs it does not know) is read with FFmpeg's RTSP
    demuxer in this thread instead, for as long as the source lives.
    """

    def __init__(
        self,
        name: str,
        url: str,
        hub: StreamHub,
        username: str | None = None,
        password: str | None = None,
        timeouts: SourceTimeouts | None = None,
        backoff: BackoffPolicy | None = None,
        reactor: RtspReactor | None = None,
        use_lean_client: bool = True,
    ) -> None:
        self.name = name
        self.hub = hub
        self.timeouts = timeouts or SourceTimeouts()
        self.backoff = backoff or BackoffPolicy()
        self._url_error: RtspUrlError | None = None
        try:
            self._url = build_rtsp_url(url, username, password)
        except RtspUrlError as error:
            self._url, self._url_error = url, error
        self._shown_url = redact_rtsp_url(self._url)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._status = SourceStatus(
            name=name, url=self._shown_url, state=SourceState.STOPPED, since=time.time()
        )
        self._video_rate = RateMeter()
        self._byte_rate = RateMeter()
        self._reactor = reactor
        self._lean = use_lean_client
        self._lean_stream: NativeRtspStream | None = None

    # ---- control ------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"camera-source-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop and join; returns within about the read timeout even if the camera hangs."""
        self._stopping.set()
        lean_stream = self._lean_stream
        if lean_stream is not None:
            lean_stream.stop()
        thread = self._thread
        if thread is not None:
            thread.join(timeout if timeout is not None else self.timeouts.open_s + self.timeouts.read_s + 1)
        self._thread = None
        self._set_state(SourceState.STOPPED, None, "stopped")

    def status(self) -> SourceStatus:
        fps, _ = self._video_rate.rates()
        _, bitrate = self._byte_rate.rates()
        with self._lock:
            if self._status.state is not SourceState.ONLINE:
                return self._status
            return replace(self._status, fps=round(fps, 2), bitrate_bps=round(bitrate))

    # ---- the thread -----------------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                problem = self._connect_and_stream()
            except Exception as error:  # a bug must not end the source: report it and retry
                log.exception("camera %s: unexpected failure", self.name)
                problem = SourceProblem(StatusReason.PROTOCOL_ERROR, f"internal error: {error}")
            if self._stopping.is_set():
                break
            if isinstance(problem, NativeDeclined):
                log.info("camera %s: %s; reading it with FFmpeg from now on", self.name, problem)
                self._lean = False
                continue
            assert problem is not None
            if self._status.state is SourceState.ONLINE or problem.reason is StatusReason.STREAM_ENDED:
                failures = 0
            failures += 1
            if problem.reason is StatusReason.UNAUTHORIZED:
                delay = self.backoff.unauthorized_delay()
            else:
                delay = self.backoff.delay(failures)
            next_attempt_at = time.time() + delay
            self._set_state(problem.state, problem.reason, problem.message, next_attempt_at=next_attempt_at)
            log.warning("camera %s: %s; next attempt in %.1f s", self.name, problem.message, delay)
            self._stopping.wait(delay)

    def _connect_and_stream(self) -> SourceProblem | NativeDeclined | None:
        """One connection: returns why it ended (``None`` when stopped)."""
        with self._lock:
            attempts = self._status.connect_attempts + 1
            self._status = replace(self._status, connect_attempts=attempts, next_attempt_at=None)
        self._set_state(SourceState.CONNECTING, None, f"connecting to {self._shown_url}")
        lean = self._lean and self._url_error is None and self._url.lower().startswith("rtsp://")
        with self._lock:
            self._status = replace(self._status, reader="lean" if lean else "ffmpeg")
        if lean:
            return self._stream_lean()
        try:
            container = self._open()
        except SourceProblem as problem:
            return problem
        try:
            return self._stream(container)
        except SourceProblem as problem:
            return problem
        finally:
            container.close()
            self.hub.end_epoch(f"connection to {self._shown_url} lost")

    def _stream_lean(self) -> SourceProblem | NativeDeclined | None:
        try:
            host = validate_rtsp_url(self._url).hostname or ""
            socket.getaddrinfo(host, None)
        except OSError:
            message = f"cannot resolve the camera host {host!r} of {self._shown_url}; check the address"
            return SourceProblem(StatusReason.HOST_NOT_FOUND, message)
        username, password = url_credentials(self._url)
        self._video_rate.reset()
        self._byte_rate.reset()
        stream = NativeRtspStream(
            self,
            self._url,
            username,
            password,
            self.hub,
            self.timeouts.open_s,
            self.timeouts.read_s,
            self._reactor or shared_reactor(),
            self._shown_url,
        )
        self._lean_stream = stream
        try:
            if self._stopping.is_set():
                return None
            return stream.run()
        finally:
            self._lean_stream = None
            self.hub.end_epoch(f"connection to {self._shown_url} lost")

    def _open(self) -> av.container.InputContainer:
        if self._url_error is not None:
            raise SourceProblem(StatusReason.INVALID_URL, str(self._url_error), SourceState.ERROR)
        try:
            parts = validate_rtsp_url(self._url)
        except RtspUrlError as error:
            raise SourceProblem(StatusReason.INVALID_URL, str(error), SourceState.ERROR) from None
        host = parts.hostname or ""
        try:
            socket.getaddrinfo(host, None)
        except OSError:
            message = f"cannot resolve the camera host {host!r} of {self._shown_url}; check the address"
            raise SourceProblem(StatusReason.HOST_NOT_FOUND, message) from None
        options = {"rtsp_transport": "tcp", "timeout": str(int(self.timeouts.read_s * 1_000_000))}
        try:
            return av.open(self._url, options=options, timeout=(self.timeouts.open_s, self.timeouts.read_s))
        except Exception as error:  # every failure becomes a status a person can read
            raise classify_open_error(error, self._shown_url) from None

    def _stream(self, container: av.container.InputContainer) -> SourceProblem | None:
        video, audio, notes = self._pick_streams(container)
        video_track = _video_track(video)
        audio_track = _audio_track(audio) if audio is not None else None
        description = self.hub.begin_epoch(video_track, audio_track, notes)
        self.describe(video_track, audio_track, notes)
        streams = [video] + ([audio] if audio is not None else [])
        kinds = {video.index: MediaKind.VIDEO} | ({audio.index: MediaKind.AUDIO} if audio else {})
        clock = PacketClock()
        rtcp_start_us: int | None = None
        self._video_rate.reset()
        self._byte_rate.reset()
        # FFmpeg hands over a stream's opening keyframe without timestamps; it is held until the next
        # packet of its stream tells where it belongs, instead of losing a whole GOP per connection.
        # With B-frames the order does not tell its timestamps, and it is dropped as before.
        held: dict[int, tuple[av.Packet[Any], float]] = {}
        try:
            for packet in container.demux(streams):
                if self._stopping.is_set():
                    return None
                if packet.size == 0:
                    continue  # flush packets at the end of the stream
                arrival = time.time()
                if rtcp_start_us is None:
                    rtcp_start_us = container.start_time_realtime
                if packet.pts is None and packet.dts is None:
                    held.setdefault(packet.stream_index, (packet, arrival))
                    continue
                early = held.pop(packet.stream_index, None)
                if early is not None:
                    early_packet, early_arrival = early
                    step = early_packet.duration or packet.duration or 0
                    anchor = packet.dts
                    if step > 0 and anchor is not None and packet.pts == anchor:
                        at = _Stamping(kinds, clock, description.epoch, early_arrival, rtcp_start_us)
                        self._publish(early_packet, anchor - step, anchor - step, at)
                at = _Stamping(kinds, clock, description.epoch, arrival, rtcp_start_us)
                self._publish(packet, packet.pts, packet.dts, at)
        except Exception as error:  # every failure becomes a status a person can read
            return classify_read_error(error, self._shown_url)
        if self._stopping.is_set():
            return None
        return SourceProblem(StatusReason.STREAM_ENDED, f"the camera at {self._shown_url} ended the stream")

    def _publish(self, packet: av.Packet[Any], pts: int | None, dts: int | None, at: _Stamping) -> None:
        kind = at.kinds[packet.stream_index]
        time_base = packet.time_base or packet.stream.time_base or Fraction(1, 90000)
        stamp = at.clock.stamp(kind, pts, dts, time_base, at.arrival, at.rtcp_start_us)
        media_packet = MediaPacket(
            kind=kind,
            data=bytes(packet),
            pts=pts,
            dts=dts,
            duration=packet.duration or 0,
            time_base=time_base,
            is_keyframe=packet.is_keyframe,
            wall_time=stamp.wall_time,
            clock_source=stamp.clock_source,
            epoch=at.epoch,
            discontinuity=stamp.discontinuity,
        )
        self.hub.publish(media_packet)
        self.observe(media_packet)

    def _pick_streams(
        self, container: av.container.InputContainer
    ) -> tuple[av.stream.Stream, av.stream.Stream | None, tuple[str, ...]]:
        videos = [stream for stream in container.streams if stream.type == "video"]
        if not videos:
            raise SourceProblem(
                StatusReason.NO_VIDEO_TRACK,
                f"the stream at {self._shown_url} has no video track; pick another stream/profile",
                SourceState.ERROR,
            )
        video = videos[0]
        video_codec = _codec_name(video)
        if video_codec not in VIDEO_CODECS:
            raise SourceProblem(
                StatusReason.UNSUPPORTED_CODEC,
                f"the camera sends {video_codec} video, which is not supported; "
                "set the camera's encoder to H.264 or H.265",
                SourceState.ERROR,
            )
        notes: list[str] = []
        audio: av.stream.Stream | None = None
        for stream in container.streams:
            if stream.type != "audio":
                continue
            codec = _codec_name(stream)
            if audio is None and codec in AUDIO_CODECS:
                audio = stream
            else:
                notes.append(f"audio track in {codec} ignored (supported: AAC, G.711 A-law/mu-law)")
        return video, audio, tuple(notes)

    # ---- status ---------------------------------------------------------------------------------------

    def describe(self, video: VideoTrack, audio: AudioTrack | None, notes: tuple[str, ...]) -> None:
        with self._lock:
            reconnects = self._status.reconnect_count + (1 if self._status.video_codec else 0)
            self._status = replace(
                self._status,
                video_codec=video.codec_name,
                width=video.width,
                height=video.height,
                audio_codec=audio.codec_name if audio else None,
                notes=notes,
                reconnect_count=reconnects,
            )

    def observe(self, packet: MediaPacket) -> None:
        self._byte_rate.add(packet.size)
        if packet.kind is not MediaKind.VIDEO:
            return
        self._video_rate.add(packet.size)
        if packet.is_keyframe or self._status.state is not SourceState.ONLINE:
            with self._lock:
                keyframe_at = packet.wall_time if packet.is_keyframe else self._status.last_keyframe_at
                self._status = replace(
                    self._status, last_keyframe_at=keyframe_at, clock_source=str(packet.clock_source)
                )
            if self._status.state is not SourceState.ONLINE:
                self._set_state(SourceState.ONLINE, None, "receiving video")
        elif packet.clock_source is not ClockSource.RTCP and self._status.clock_source == ClockSource.RTCP:
            with self._lock:
                self._status = replace(self._status, clock_source=str(packet.clock_source))

    def _set_state(
        self,
        state: SourceState,
        reason: StatusReason | None,
        message: str,
        next_attempt_at: float | None = None,
    ) -> None:
        with self._lock:
            since = self._status.since if self._status.state is state else time.time()
            self._status = replace(
                self._status,
                state=state,
                reason=reason,
                message=message,
                since=since,
                next_attempt_at=next_attempt_at,
                fps=0.0,
                bitrate_bps=0.0,
            )


def _codec_name(stream: av.stream.Stream) -> str:
    context = stream.codec_context
    return context.name if context is not None else "unknown"


def _video_track(stream: av.stream.Stream) -> VideoTrack:
    context = stream.codec_context
    return VideoTrack(
        codec_name=_codec_name(stream),
        width=int(getattr(context, "width", 0) or 0),
        height=int(getattr(context, "height", 0) or 0),
        time_base=stream.time_base or Fraction(1, 90000),
        extradata=bytes(context.extradata or b"") if context is not None else b"",
        codec_template=capture_codec_template(stream),
        profile=stream.profile,
        frame_rate=getattr(stream, "average_rate", None) or None,
    )


def _audio_track(stream: av.stream.Stream) -> AudioTrack:
    context = stream.codec_context
    return AudioTrack(
        codec_name=_codec_name(stream),
        sample_rate=int(getattr(context, "sample_rate", 0) or 0),
        channels=int(getattr(context, "channels", 0) or 0),
        time_base=stream.time_base or Fraction(1, 8000),
        extradata=bytes(context.extradata or b"") if context is not None else b"",
        codec_template=capture_codec_template(stream),
    )
