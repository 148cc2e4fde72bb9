"""InterleavedReader: RTP, RTCP and RTSP answers out of arbitrarily cut TCP chunks."""

from __future__ import annotations

import struct

from ingest.rtsp.depacketize import AccessUnit, H264Depacketizer
from ingest.rtsp.interleaved import InterleavedReader, TrackReception
from ingest.rtsp.messages import RtspResponse

IDR = b"\x65" + bytes(range(200))
P_SLICE = b"\x41" + bytes(50)


def rtp(
    sequence: int, timestamp: int, payload: bytes, marker: bool = True, *, ext: bool = False, pad: int = 0
) -> bytes:
    first = 0x80 | (0x10 if ext else 0) | (0x20 if pad else 0)
    header = struct.pack("!BBHII", first, (0x80 if marker else 0) | 96, sequence, timestamp, 0xABCD)
    if ext:
        header += struct.pack("!HH", 0xBEDE, 1) + b"\x01\x02\x03\x04"
    padding = (bytes(pad - 1) + bytes([pad])) if pad else b""
    return header + payload + padding


def framed(channel: int, packet: bytes) -> bytes:
    return b"$" + bytes([channel]) + len(packet).to_bytes(2, "big") + packet


def sender_report(ssrc: int, rtp_timestamp: int) -> bytes:
    body = struct.pack("!IIIIII", ssrc, 3_923_553_600, 0, rtp_timestamp, 10, 1000)
    return struct.pack("!BBH", 0x80, 200, len(body) // 4) + body


class Collected:
    def __init__(self) -> None:
        self.units: list[tuple[int, AccessUnit, float]] = []
        self.responses: list[RtspResponse] = []

    def on_units(self, track: int, units: list[AccessUnit], arrival: float) -> None:
        self.units += [(track, unit, arrival) for unit in units]


def make_reader() -> tuple[InterleavedReader, Collected, TrackReception]:
    collected = Collected()
    reception = TrackReception(H264Depacketizer(90000, ""))
    reader = InterleavedReader({0: 0}, [reception], collected.on_units, collected.responses.append)
    return reader, collected, reception


def test_packets_cut_anywhere_give_the_same_units() -> None:
    stream = b"".join(
        [
            framed(0, rtp(1, 1000, IDR, ext=True)),
            framed(1, sender_report(0xABCD, 900)),
            b"RTSP/1.0 200 OK\r\nCSeq: 7\r\nContent-Length: 5\r\n\r\nhello",
            framed(0, rtp(2, 4600, P_SLICE, pad=3)),
            framed(0, rtp(3, 8200, P_SLICE)),
        ]
    )
    for cut in (1, 3, 4, 5, 17, 64, len(stream)):
        reader, collected, reception = make_reader()
        for start in range(0, len(stream), cut):
            reader.feed(stream[start : start + cut], arrival=float(start))
        assert [(u.timestamp, u.keyframe) for _, u, _ in collected.units] == [
            (1000, True),
            (4600, False),
            (8200, False),
        ]
        assert (
            collected.units[0][1].data.endswith(IDR) and collected.units[1][1].data == b"\0\0\0\1" + P_SLICE
        )
        assert [r.status for r in collected.responses] == [200] and collected.responses[0].body == b"hello"
        assert reception.last_sender_report is not None and reception.last_sender_report.rtp_timestamp == 900
        assert (reception.ssrc, reception.packets, reception.highest_sequence) == (0xABCD, 3, 3)


def test_sequence_numbers_are_extended_across_the_wrap() -> None:
    reader, _, reception = make_reader()
    for n, sequence in enumerate([65534, 65535, 0, 1]):
        reader.feed(framed(0, rtp(sequence, 1000 + 3600 * n, P_SLICE)), 0.0)
    assert reception.highest_sequence == 0x1_0001


def test_garbage_between_frames_is_skipped_and_unknown_channels_ignored() -> None:
    reader, collected, _ = make_reader()
    reader.feed(b"\x00\x01garbage" + framed(4, b"x" * 20) + framed(0, rtp(1, 10, IDR)), 0.0)
    assert [u.timestamp for _, u, _ in collected.units] == [10]
