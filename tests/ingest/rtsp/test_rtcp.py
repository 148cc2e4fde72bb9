from __future__ import annotations

import random
import struct

import pytest

from ingest.rtsp.rtcp import NTP_UNIX_OFFSET, SenderReport, receiver_report, sender_report

SSRC = 0x1A2B3C4D


def _sr(ssrc: int, ntp_seconds: int, ntp_fraction: int, rtp_timestamp: int, blocks: int = 0) -> bytes:
    """An RTCP SR as RFC 3550 6.4.1 lays it out, with ``blocks`` (zeroed) report blocks."""
    body = struct.pack("!IIIIII", ssrc, ntp_seconds, ntp_fraction, rtp_timestamp, 1234, 567890)
    body += bytes(24 * blocks)
    return struct.pack("!BBH", 0x80 | blocks, 200, len(body) // 4) + body


def _rr(ssrc: int) -> bytes:
    return struct.pack("!BBHI", 0x80, 201, 1, ssrc)


def _sdes(ssrc: int, cname: bytes) -> bytes:
    item = bytes([1, len(cname)]) + cname + b"\x00"
    chunk = struct.pack("!I", ssrc) + item + bytes(-len(item) % 4)
    return struct.pack("!BBH", 0x81, 202, len(chunk) // 4) + chunk


def test_sender_report_alone() -> None:
    # 2024-05-01 12:00:00.5 UTC
    unix = 1_714_564_800
    report = sender_report(_sr(SSRC, unix + NTP_UNIX_OFFSET, 0x8000_0000, 0xDEADBEEF))
    assert report == SenderReport(SSRC, unix + 0.5, 0xDEADBEEF)


def test_sender_report_in_a_compound_packet_after_other_packets() -> None:
    sr = _sr(SSRC, 3_923_553_600, 0x4000_0000, 90000, blocks=1)
    packet = _rr(7) + _sdes(7, b"camera@10.0.0.5") + sr + _sdes(SSRC, b"x")
    report = sender_report(memoryview(packet))
    assert report is not None
    assert report.ssrc == SSRC
    assert report.ntp_time == 3_923_553_600 - NTP_UNIX_OFFSET + 0.25
    assert report.rtp_timestamp == 90000


def test_ntp_era_1_after_2036() -> None:
    # NTP seconds wrap on 2036-02-07 06:28:16 UTC; 100 s after that:
    report = sender_report(_sr(SSRC, 100, 0, 0))
    assert report is not None
    assert report.ntp_time == (1 << 32) + 100 - NTP_UNIX_OFFSET


@pytest.mark.parametrize(
    "packet",
    [
        b"",
        b"\x80",
        _rr(1),
        _rr(1) + _sdes(1, b"cam"),
        _sr(SSRC, 3_900_000_000, 0, 0)[:-4],  # truncated: length says more than there is
        bytes([0x40]) + _sr(SSRC, 3_900_000_000, 0, 0)[1:],  # version 1
        struct.pack("!BBH", 0x80, 200, 1) + bytes(4),  # an SR too short to hold its sender info
        b"\x24\x01\x00\x1c" + _sr(SSRC, 3_900_000_000, 0, 0),  # interleaved framing not stripped
        b"RTSP/1.0 200 OK\r\n\r\n",
    ],
)
def test_no_sender_report(packet: bytes) -> None:
    assert sender_report(packet) is None


def test_garbage_never_raises() -> None:
    rng = random.Random(7)
    valid = _rr(1) + _sr(SSRC, 3_900_000_000, 0, 0)
    for _ in range(20_000):
        size = rng.randrange(0, 80)
        garbage = bytes(rng.randrange(256) for _ in range(size))
        if rng.random() < 0.5:
            garbage = bytes([0x80 | (garbage[0] & 0x1F) if garbage else 0x80]) + garbage[1:]
        if rng.random() < 0.3:  # a real packet with some bytes flipped or cut
            mutated = bytearray(valid)
            for _ in range(rng.randrange(1, 4)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            garbage = bytes(mutated[: rng.randrange(len(mutated) + 1)])
        result = sender_report(memoryview(garbage))
        assert result is None or isinstance(result, SenderReport)


def _parse_rr(packet: bytes) -> tuple[int, ...]:
    assert len(packet) > 32
    return struct.unpack("!BBHIIIIIII", packet[:32])


def test_receiver_report_carries_an_sdes_cname() -> None:
    packet = receiver_report(0xCAFEBABE, SSRC, 5, None, 0.0, cname="yard-vms@node1")
    sdes = packet[32:]
    first, pt, length = struct.unpack("!BBH", sdes[:4])
    assert (first >> 6, first & 0x1F, pt) == (2, 1, 202)  # version 2, one chunk, SDES
    assert len(sdes) == 4 * (length + 1) and len(packet) % 4 == 0
    ssrc, item, size = struct.unpack("!IBB", sdes[4:10])
    assert (ssrc, item) == (0xCAFEBABE, 1)  # CNAME
    assert sdes[10 : 10 + size] == b"yard-vms@node1" and sdes[10 + size] == 0


def test_receiver_report_layout() -> None:
    ntp_seconds, ntp_fraction = 3_923_553_600, 0x1234_5678
    last = sender_report(_sr(SSRC, ntp_seconds, ntp_fraction, 1000))
    assert last is not None
    packet = receiver_report(0xCAFEBABE, SSRC, (3 << 16) | 65000, last, 1.5)
    first, pt, length, ssrc, media, lost, highest, jitter, lsr, dlsr = _parse_rr(packet)
    assert (first >> 6, first & 0x20, first & 0x1F) == (2, 0, 1)  # version 2, no padding, one block
    assert (pt, length) == (201, 7)
    assert (ssrc, media, lost, jitter) == (0xCAFEBABE, SSRC, 0, 0)
    assert highest == (3 << 16) | 65000
    assert lsr == ((ntp_seconds & 0xFFFF) << 16) | (ntp_fraction >> 16)
    assert dlsr == 98304  # 1.5 s in 1/65536 s
    assert sender_report(packet) is None  # an RR, not an SR


def test_receiver_report_without_a_sender_report() -> None:
    *_, highest, jitter, lsr, dlsr = _parse_rr(receiver_report(1, 2, 0x1_2345_6789, None, 12.0))
    assert (highest, jitter, lsr, dlsr) == (0x2345_6789, 0, 0, 0)


def test_receiver_report_lsr_in_ntp_era_1_and_dlsr_bounds() -> None:
    last = sender_report(_sr(SSRC, 0x0001_0002, 0x0003_0000, 0))
    assert last is not None
    *_, lsr, dlsr = _parse_rr(receiver_report(1, SSRC, 5, last, -0.1))
    assert (lsr, dlsr) == (0x0002_0003, 0)
    *_, dlsr = _parse_rr(receiver_report(1, SSRC, 5, last, 1e9))
    assert dlsr == 0xFFFF_FFFF
