"""InterleavedReader: splits the bytes of an RTSP/TCP connection into RTP, RTCP and RTSP answers.

RFC 2326 section 10.12: media travels as ``$ channel length(2) packet``; RTSP answers (to keep-alives) may
arrive between them. This runs for every byte of every camera, so it stays lean: one pass over each
chunk, RTP headers read by index, payloads handed on as memoryview slices (no copies).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from ingest.rtsp.depacketize import AccessUnit, Depacketizer
from ingest.rtsp.messages import RtspProtocolError, RtspResponse, parse_response
from ingest.rtsp.rtcp import SenderReport, sender_report

MAX_RESYNC_BYTES = 64 * 1024
_HEADERS = struct.Struct("!BBHII").unpack_from
"""RTP fixed header: V/P/X/CC, M/PT, sequence number, timestamp, SSRC."""


@dataclass(slots=True)
class TrackReception:
    """What has arrived on one track: for receiver reports and diagnostics."""

    depacketizer: Depacketizer
    ssrc: int = 0
    first_sequence: int = 0
    packets: int = 0
    last_sender_report: SenderReport | None = None
    sender_report_at: float = 0.0

    @property
    def highest_sequence(self) -> int:
        """The extended highest sequence number (wrap-arounds << 16 | sequence) for receiver reports.

        Counted rather than tracked per packet: over TCP packets neither reorder nor get lost on the way.
        """
        return self.first_sequence + self.packets - 1 if self.packets else 0


UnitsCallback = Callable[[int, list[AccessUnit], float], None]
"""(track index, access units completed by one RTP packet, arrival time)"""


class InterleavedReader:
    def __init__(
        self,
        channels: dict[int, int],
        tracks: list[TrackReception],
        on_units: UnitsCallback,
        on_response: Callable[[RtspResponse], None] | None = None,
    ) -> None:
        """``channels`` maps an RTP channel to its track index; ``channel + 1`` carries that track's RTCP."""
        self._rtp = dict(channels)
        self._rtcp = {channel + 1: track for channel, track in channels.items()}
        self.tracks = tracks
        self._on_units = on_units
        self._on_response = on_response
        self._pending = b""

    def feed(self, chunk: bytes, arrival: float) -> None:
        data = self._pending + chunk if self._pending else chunk
        view = memoryview(data)
        size = len(data)
        position = 0
        rtp, rtcp, tracks, on_units, unpack = self._rtp, self._rtcp, self.tracks, self._on_units, _HEADERS
        while size - position >= 4:
            if data[position] != 0x24:  # not '$': an RTSP answer, or garbage to skip
                consumed = self._non_media(data, position)
                if consumed == 0:
                    break
                position += consumed
                continue
            start = position + 4
            end = start + ((data[position + 2] << 8) | data[position + 3])
            if end > size:
                break
            channel = data[position + 1]
            position = end
            track_index = rtp.get(channel)
            if track_index is not None:
                if end - start < 12:
                    continue
                first, second, sequence, timestamp, ssrc = unpack(data, start)
                header = 12 + 4 * (first & 0x0F)
                if first & 0x10:  # header extension
                    if end - start < header + 4:
                        continue
                    header += 4 + 4 * ((data[start + header + 2] << 8) | data[start + header + 3])
                stop = end - data[end - 1] if first & 0x20 else end  # padding
                if start + header > stop:
                    continue
                track = tracks[track_index]
                if not track.packets:
                    track.ssrc, track.first_sequence = ssrc, sequence
                track.packets += 1
                units = track.depacketizer.push(
                    view[start + header : stop], timestamp, second > 0x7F, sequence
                )
                if units:
                    on_units(track_index, units, arrival)
            else:
                track_index = rtcp.get(channel)
                if track_index is not None:
                    report = sender_report(view[start:end])
                    if report is not None:
                        tracks[track_index].last_sender_report = report
                        tracks[track_index].sender_report_at = arrival
        self._pending = data[position:] if position < size else b""

    def _non_media(self, data: bytes, position: int) -> int:
        """Bytes used by an RTSP answer at ``position`` (0 if incomplete), or skipped up to the next '$'."""
        if data.startswith(b"RTSP/", position) or len(data) - position < 5:
            try:
                parsed = parse_response(data, position)
            except RtspProtocolError:
                parsed = None
            else:
                if parsed is None:
                    return 0
                response, end = parsed
                if self._on_response is not None:
                    self._on_response(response)
                return end - position
        following = data.find(b"$", position + 1)
        if following < 0:
            if len(data) - position > MAX_RESYNC_BYTES:
                raise RtspProtocolError("the camera sent data that is neither RTP nor RTSP")
            return len(data) - position
        return following - position
