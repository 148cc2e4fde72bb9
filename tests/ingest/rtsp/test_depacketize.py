"""Real H.264/H.265/AAC streams encoded with PyAV, packetized here (RFC 6184/7798/3640), depacketized back."""

from __future__ import annotations

import base64
import functools
import random
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import cast

import av
import pytest

from ingest.rtsp.depacketize import (
    AccessUnit,
    Depacketizer,
    UnsupportedPacketization,
    depacketizer_for,
)
from ingest.rtsp.sdp import MediaDescription

START = b"\x00\x00\x00\x01"
STEP = 3600  # 90 kHz at 25 fps


@dataclass(frozen=True)
class Frame:
    nals: list[bytes]
    keyframe: bool
    pts: int

    @property
    def annexb(self) -> bytes:
        return b"".join(START + nal for nal in self.nals)


@dataclass(frozen=True)
class Rtp:
    payload: bytes
    timestamp: int
    marker: bool
    sequence: int


def split_annexb(data: bytes) -> list[bytes]:
    return [nal.rstrip(b"\x00") for nal in re.split(b"\x00\x00\x01", data)[1:]]


@functools.cache
def encoded(
    codec: str, params: str = "", frames: int = 60, width: int = 320, height: int = 240
) -> list[Frame]:
    """``frames`` of testsrc as coded by libx264/libx265 (GOP 25), in decoding order."""
    context = cast(av.VideoCodecContext, av.CodecContext.create(codec, "w"))
    context.width, context.height, context.pix_fmt = width, height, "yuv420p"
    context.time_base = Fraction(1, 25)
    context.framerate = Fraction(25)
    if codec == "libx264":
        context.options = {"preset": "ultrafast", "g": "25", "x264-params": params or "bframes=0"}
    else:
        context.options = {"preset": "ultrafast", "x265-params": "log-level=error:keyint=25" + params}
    packets = []
    with av.open(f"testsrc=size={width}x{height}:rate=25", format="lavfi") as source:
        for index, frame in enumerate(source.decode(video=0)):
            if index == frames:
                break
            picture = frame.reformat(format="yuv420p")
            picture.pts = index
            picture.pict_type = av.video.frame.PictureType.NONE  # don't force every frame to be an IDR
            packets += context.encode(picture)
    packets += context.encode(None)
    return [Frame(split_annexb(bytes(p)), bool(p.is_keyframe), int(p.pts or 0)) for p in packets]


def _payloads(nals: list[bytes], mtu: int, hevc: bool) -> list[bytes]:
    """An access unit's RTP payloads: small NAL units aggregated (STAP-A/AP), big ones split (FU-A/FU)."""
    header = 2 if hevc else 1
    payloads: list[bytes] = []
    group: list[bytes] = []

    def flush() -> None:
        if len(group) == 1:
            payloads.append(group[0])
        elif group:
            if hevc:
                aggregate = bytes([48 << 1, min(nal[1] & 0x07 for nal in group)])
            else:
                aggregate = bytes([max(nal[0] & 0x60 for nal in group) | 24])
            payloads.append(aggregate + b"".join(len(n).to_bytes(2, "big") + n for n in group))
        group.clear()

    for nal in nals:
        if len(nal) <= mtu:
            if header + sum(2 + len(n) for n in group) + 2 + len(nal) > mtu:
                flush()
            group.append(nal)
            continue
        flush()
        body, first = nal[header:], True
        while body:
            piece, body = body[: mtu - header - 1], body[mtu - header - 1 :]
            flags = (0x80 if first else 0) | (0 if body else 0x40)
            if hevc:
                fu = bytes([(nal[0] & 0x81) | (49 << 1), nal[1], flags | ((nal[0] >> 1) & 0x3F)])
            else:
                fu = bytes([(nal[0] & 0xE0) | 28, flags | (nal[0] & 0x1F)])
            payloads.append(fu + piece)
            first = False
    flush()
    return payloads


def packetize(
    frames: list[list[bytes]], mtu: int, timestamps: list[int], sequence: int = 0, hevc: bool = False
) -> list[Rtp]:
    """RTP packets of access units (lists of NAL units): marker bit on the last packet of each."""
    packets: list[Rtp] = []
    for nals, timestamp in zip(frames, timestamps, strict=True):
        payloads = _payloads(nals, mtu, hevc)
        for index, payload in enumerate(payloads):
            packets.append(Rtp(payload, timestamp & 0xFFFF_FFFF, index == len(payloads) - 1, sequence))
            sequence = (sequence + 1) & 0xFFFF
    return packets


def packetize_h264(
    frames: list[list[bytes]], mtu: int, timestamps: list[int], sequence: int = 0
) -> list[Rtp]:
    return packetize(frames, mtu, timestamps, sequence)


def packetize_h265(
    frames: list[list[bytes]], mtu: int, timestamps: list[int], sequence: int = 0
) -> list[Rtp]:
    return packetize(frames, mtu, timestamps, sequence, hevc=True)


def push_all(depacketizer: Depacketizer, packets: list[Rtp], views: bool = True) -> list[AccessUnit]:
    units: list[AccessUnit] = []
    for packet in packets:
        payload = memoryview(packet.payload) if views else packet.payload
        units += depacketizer.push(payload, packet.timestamp, packet.marker, packet.sequence)
    return units


def video(encoding: str, **fmtp: str) -> MediaDescription:
    return MediaDescription("video", 96, encoding, 90000, 1, fmtp, "rtsp://cam/live/trackID=1")


def h264() -> Depacketizer:
    depacketizer = depacketizer_for(video("H264", **{"packetization-mode": "1"}))
    assert depacketizer is not None
    return depacketizer


def h265(**fmtp: str) -> Depacketizer:
    depacketizer = depacketizer_for(video("H265", **fmtp))
    assert depacketizer is not None
    return depacketizer


def timestamps(frames: list[Frame], start: int) -> list[int]:
    return [start + frame.pts * STEP for frame in frames]


def params(frames: list[Frame], kinds: tuple[int, ...], hevc: bool = False) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    for nal in frames[0].nals:
        kind = (nal[0] >> 1) & 0x3F if hevc else nal[0] & 0x1F
        if kind in kinds:
            found[kind] = nal
    assert sorted(found) == sorted(kinds)
    return found


def decodes(codec: str, data: bytes) -> bool:
    """Whether ``data`` alone decodes to a 320x240 picture."""
    context = cast(av.VideoCodecContext, av.CodecContext.create(codec, "r"))
    try:
        pictures = [*context.decode(av.Packet(data)), *context.decode(None)]
    except av.error.InvalidDataError:
        return False
    return len(pictures) == 1 and (pictures[0].width, pictures[0].height) == (320, 240)


# ---------------------------------------------------------------------------------------------- H.264


@pytest.mark.parametrize("mtu", [100, 1400])
@pytest.mark.parametrize("x264", ["bframes=0", "slices=3:aud=1:bframes=2"])
def test_h264_round_trip(x264: str, mtu: int) -> None:
    frames = encoded("libx264", x264)
    assert sum(frame.keyframe for frame in frames) == 3
    # timestamps and sequence numbers both wrap around during the stream
    stamps = timestamps(frames, 2**32 - 20 * STEP)
    packets = packetize_h264([f.nals for f in frames], mtu, stamps, sequence=65536 - 100)
    assert {p.payload[0] & 0x1F for p in packets} >= ({24, 28} if mtu == 100 else {24})
    depacketizer = h264()
    units = push_all(depacketizer, packets)
    assert [u.data for u in units] == [f.annexb for f in frames]
    assert [u.keyframe for u in units] == [f.keyframe for f in frames]
    assert [u.timestamp for u in units] == [t & 0xFFFF_FFFF for t in stamps]
    assert {u.duration for u in units} == {0}
    assert depacketizer.dropped == 0
    sps_pps = params(frames, (7, 8))
    assert depacketizer.extradata() == START + sps_pps[7] + START + sps_pps[8]
    assert (depacketizer.codec_name, depacketizer.clock_rate) == ("h264", 90000)


def test_h264_bytes_payloads_and_no_marker_bits() -> None:
    """Cameras that never set the marker bit: an access unit ends when the timestamp changes."""
    frames = encoded("libx264")
    packets = [
        Rtp(p.payload, p.timestamp, False, p.sequence)
        for p in packetize_h264([f.nals for f in frames], 500, timestamps(frames, 0))
    ]
    units = push_all(h264(), packets, views=False)
    assert [u.data for u in units] == [f.annexb for f in frames[:-1]]  # the last one waits for more


def test_h264_parameter_sets_only_in_sdp_are_prepended_to_keyframes() -> None:
    frames = encoded("libx264", "slices=2:aud=1")
    sps_pps = params(frames, (7, 8))
    stripped = [[nal for nal in f.nals if nal[0] & 0x1F not in (7, 8)] for f in frames]
    sprop = ",".join(base64.b64encode(sps_pps[k]).decode() for k in (7, 8))
    depacketizer = depacketizer_for(
        video("H264", **{"packetization-mode": "1", "sprop-parameter-sets": sprop})
    )
    assert depacketizer is not None
    extradata = START + sps_pps[7] + START + sps_pps[8]
    assert depacketizer.extradata() == extradata
    units = push_all(depacketizer, packetize_h264(stripped, 300, timestamps(frames, 0)))
    assert len(units) == len(frames)
    for unit, nals, frame in zip(units, stripped, frames, strict=True):
        assert nals[0][0] & 0x1F == 9  # the access unit delimiter stays first
        if frame.keyframe:
            assert unit.data == START + nals[0] + extradata + b"".join(START + n for n in nals[1:])
            assert decodes("h264", unit.data)
        else:
            assert unit.data == b"".join(START + n for n in nals)
    assert not decodes("h264", b"".join(START + n for n in stripped[0]))  # the check above means something


def test_h264_in_band_parameter_sets_replace_the_sdp_ones() -> None:
    other = params(encoded("libx264", frames=1, width=640, height=480), (7, 8))
    frames = encoded("libx264")
    sprop = ",".join(base64.b64encode(other[k]).decode() for k in (7, 8))
    depacketizer = depacketizer_for(video("H264", **{"sprop-parameter-sets": sprop}))
    assert depacketizer is not None
    assert depacketizer.extradata() == START + other[7] + START + other[8]
    # an MTU this small fragments even the parameter sets
    packets = packetize_h264([f.nals for f in frames[:3]], 12, timestamps(frames[:3], 0))
    assert any(p.payload[0] & 0x1F == 28 and p.payload[1] & 0x1F == 7 for p in packets)
    units = push_all(depacketizer, packets)
    assert [u.data for u in units] == [f.annexb for f in frames[:3]]
    sps_pps = params(frames, (7, 8))
    assert depacketizer.extradata() == START + sps_pps[7] + START + sps_pps[8]


def test_h264_parameter_sets_sent_with_their_own_timestamp_join_the_next_picture() -> None:
    frames = encoded("libx264")
    first = frames[0].nals
    sps_pps = [nal for nal in first if nal[0] & 0x1F in (7, 8)]
    rest = [nal for nal in first if nal[0] & 0x1F not in (7, 8)]
    packets = packetize_h264([sps_pps, rest], 1400, [1000, 4600])
    assert packets[0].marker
    units = push_all(h264(), packets)
    assert len(units) == 1
    assert units[0].data == frames[0].annexb
    assert (units[0].timestamp, units[0].keyframe) == (4600, True)


def _without(packets: list[Rtp], *indexes: int) -> list[Rtp]:
    return [p for i, p in enumerate(packets) if i not in indexes]


def _frame_of(packets: list[Rtp], stamps: list[int]) -> list[int]:
    """For each packet, the index of the frame it carries."""
    return [stamps.index(p.timestamp) for p in packets]


def test_h264_lost_packet_drops_pictures_until_the_next_keyframe() -> None:
    frames = encoded("libx264")
    stamps = timestamps(frames, 0)
    packets = packetize_h264([f.nals for f in frames], 100, stamps, sequence=65500)
    owner = _frame_of(packets, stamps)
    # lose a packet in the middle of frame 10 (a P frame of several packets)
    frame_packets = [i for i, f in enumerate(owner) if f == 10]
    assert len(frame_packets) >= 3
    depacketizer = h264()
    units = push_all(depacketizer, _without(packets, frame_packets[1]))
    expected = [f for i, f in enumerate(frames) if not 10 <= i < 25]
    assert [u.data for u in units] == [f.annexb for f in expected]
    assert frames[25].keyframe
    assert depacketizer.dropped == 15


def test_h264_lost_start_of_a_keyframe() -> None:
    frames = encoded("libx264")
    stamps = timestamps(frames, 0)
    packets = packetize_h264([f.nals for f in frames], 100, stamps)
    owner = _frame_of(packets, stamps)
    first_of_25 = owner.index(25)
    assert frames[25].keyframe and packets[first_of_25].payload[0] & 0x1F == 24
    assert packets[first_of_25 + 1].payload[1] == 0x85  # FU-A start of the IDR slice

    # losing the first FU-A of the IDR loses that picture and the whole GOP after it
    depacketizer = h264()
    units = push_all(depacketizer, _without(packets, first_of_25 + 1))
    assert [u.data for u in units] == [f.annexb for i, f in enumerate(frames) if not 25 <= i < 50]
    assert depacketizer.dropped == 25

    # losing only the STAP-A with SPS and PPS: the known ones replace them and nothing is dropped
    depacketizer = h264()
    units = push_all(depacketizer, _without(packets, first_of_25))
    assert [u.data for u in units] == [f.annexb for f in frames]
    assert depacketizer.dropped == 0


def test_h264_lost_whole_picture_keeps_the_next_keyframe() -> None:
    """A gap that takes exactly the pictures before a keyframe: the keyframe itself is whole and kept."""
    frames = encoded("libx264")
    stamps = timestamps(frames, 0)
    packets = packetize_h264([f.nals for f in frames], 100, stamps)
    owner = _frame_of(packets, stamps)
    depacketizer = h264()
    units = push_all(depacketizer, [p for p, f in zip(packets, owner, strict=True) if f != 24])
    assert [u.data for u in units] == [f.annexb for i, f in enumerate(frames) if i != 24]
    assert depacketizer.dropped == 0


def test_h264_sequence_gap_across_the_wrap() -> None:
    frames = encoded("libx264")
    stamps = timestamps(frames, 0)
    packets = packetize_h264([f.nals for f in frames[:5]], 100, stamps[:5], sequence=65530)
    owner = _frame_of(packets, stamps)
    lost = next(i for i, p in enumerate(packets) if p.sequence == 0)
    depacketizer = h264()
    units = push_all(depacketizer, _without(packets, lost))
    assert [u.data for u in units] == [f.annexb for f in frames[: owner[lost]]]
    assert depacketizer.dropped == 5 - owner[lost]


@pytest.mark.parametrize(
    "bad",
    [
        bytes([24, 0x00, 0x30, 0x67, 0x42]),  # STAP-A: a NAL unit size beyond the packet
        bytes([24, 0x00, 0x02, 0x09, 0x10, 0x00]),  # STAP-A: a dangling size byte
        bytes([24, 0x00, 0x00]),  # STAP-A: a NAL unit of size 0
        bytes([0x7C, 0x05, 0xAA, 0xBB]),  # FU-A without its start
        bytes([0x7C, 0x85]),  # FU-A without payload
        bytes([0x7D, 0x85, 0x00, 0x01, 0xAA]),  # FU-B (interleaved mode only)
        bytes([0x7A, 0x00, 0x01, 0x02]),  # MTAP16
    ],
)
def test_h264_malformed_payload_drops_the_picture(bad: bytes) -> None:
    frames = encoded("libx264")
    stamps = timestamps(frames, 0)
    packets = packetize_h264([f.nals for f in frames[:27]], 300, stamps[:27])
    owner = _frame_of(packets, stamps)
    # frame 3 gets the malformed payload in place of its last packet
    index = len(owner) - 1 - owner[::-1].index(3)
    packets[index] = Rtp(bad, packets[index].timestamp, True, packets[index].sequence)
    depacketizer = h264()
    units = push_all(depacketizer, packets)
    assert [u.data for u in units] == [f.annexb for i, f in enumerate(frames[:27]) if not 3 <= i < 25]
    assert depacketizer.dropped == 22


def test_h264_ignores_empty_payloads_and_nal_types_30_31() -> None:
    frames = encoded("libx264")
    packets = packetize_h264([f.nals for f in frames[:2]], 1400, timestamps(frames[:2], 0))
    extra = [Rtp(b"", 0, False, 0), Rtp(bytes([0x1E, 1, 2]), 0, False, 0)]
    renumbered = [
        Rtp(p.payload, p.timestamp, p.marker, n)
        for n, p in enumerate([*extra, *packets[:1], *extra, *packets[1:]])
    ]
    depacketizer = h264()
    assert [u.data for u in push_all(depacketizer, renumbered)] == [f.annexb for f in frames[:2]]
    assert depacketizer.dropped == 0


def test_h264_garbage_never_raises() -> None:
    frames = encoded("libx264")
    good = packetize_h264([f.nals for f in frames], 200, timestamps(frames, 0))
    rng = random.Random(3)
    depacketizer = h264()
    sequence = 0
    for _ in range(20_000):
        packet = rng.choice(good)
        payload = bytearray(packet.payload[: rng.randrange(0, len(packet.payload) + 1)])
        for _ in range(rng.randrange(0, 3)):
            if payload:
                payload[rng.randrange(len(payload))] = rng.randrange(256)
        sequence = (sequence + rng.choice([1, 1, 1, 2])) & 0xFFFF
        for unit in depacketizer.push(bytes(payload), packet.timestamp, rng.random() < 0.2, sequence):
            assert isinstance(unit.data, bytes)
    assert depacketizer.dropped > 0


@pytest.mark.parametrize("mode", ["2", "3", "x"])
def test_h264_unsupported_packetization_modes(mode: str) -> None:
    with pytest.raises(UnsupportedPacketization, match="packetization-mode"):
        depacketizer_for(video("H264", **{"packetization-mode": mode}))


# ---------------------------------------------------------------------------------------------- H.265


@pytest.mark.parametrize("mtu", [100, 1400])
@pytest.mark.parametrize("x265", ["", ":slices=2:aud=1"])
def test_h265_round_trip(x265: str, mtu: int) -> None:
    frames = encoded("libx265", x265)
    assert sum(frame.keyframe for frame in frames) == 3
    stamps = timestamps(frames, 2**32 - 7 * STEP)
    packets = packetize_h265([f.nals for f in frames], mtu, stamps, sequence=65500)
    assert {(p.payload[0] >> 1) & 0x3F for p in packets} >= ({48, 49} if mtu == 100 else {48})
    depacketizer = h265()
    units = push_all(depacketizer, packets)
    assert [u.data for u in units] == [f.annexb for f in frames]
    assert [u.keyframe for u in units] == [f.keyframe for f in frames]
    assert [u.timestamp for u in units] == [t & 0xFFFF_FFFF for t in stamps]
    assert depacketizer.dropped == 0
    vps_sps_pps = params(frames, (32, 33, 34), hevc=True)
    assert depacketizer.extradata() == b"".join(START + vps_sps_pps[k] for k in (32, 33, 34))
    assert (depacketizer.codec_name, depacketizer.clock_rate) == ("hevc", 90000)


def test_h265_parameter_sets_only_in_sdp_are_prepended_to_keyframes() -> None:
    frames = encoded("libx265")
    found = params(frames, (32, 33, 34), hevc=True)
    stripped = [[nal for nal in f.nals if not 32 <= (nal[0] >> 1) & 0x3F <= 34] for f in frames]
    depacketizer = h265(
        **{
            f"sprop-{name}": base64.b64encode(found[kind]).decode()
            for name, kind in (("vps", 32), ("sps", 33), ("pps", 34))
        }
    )
    extradata = b"".join(START + found[k] for k in (32, 33, 34))
    assert depacketizer.extradata() == extradata
    units = push_all(depacketizer, packetize_h265(stripped, 500, timestamps(frames, 0)))
    assert len(units) == len(frames)
    for unit, nals, frame in zip(units, stripped, frames, strict=True):
        body = b"".join(START + n for n in nals)
        assert unit.data == (extradata + body if frame.keyframe else body)
    assert decodes("hevc", units[0].data)
    assert not decodes("hevc", b"".join(START + n for n in stripped[0]))


def test_h265_lost_packet_drops_pictures_until_the_next_keyframe() -> None:
    frames = encoded("libx265")
    stamps = timestamps(frames, 0)
    packets = packetize_h265([f.nals for f in frames], 100, stamps)
    owner = _frame_of(packets, stamps)
    keyframes = [i for i, f in enumerate(frames) if f.keyframe]
    victim = next(i for i in range(keyframes[1] - 5, keyframes[1]) if owner.count(i) >= 2)
    depacketizer = h265()
    units = push_all(depacketizer, _without(packets, owner.index(victim) + 1))
    expected = [f for i, f in enumerate(frames) if not victim <= i < keyframes[1]]
    assert [u.data for u in units] == [f.annexb for f in expected]
    assert depacketizer.dropped == keyframes[1] - victim


@pytest.mark.parametrize(
    "bad",
    [
        bytes([0x60, 0x01, 0x00, 0x30, 0x40, 0x01]),  # AP: size beyond the packet
        bytes([0x60, 0x01, 0x00, 0x01, 0x40]),  # AP: a NAL unit shorter than its header
        bytes([0x62, 0x01, 0x13, 0xAA]),  # FU without its start
        bytes([0x62, 0x01, 0x93]),  # FU without payload
        bytes([0x64, 0x01, 0x00, 0x00]),  # PACI
        bytes([0x02]),  # one byte
    ],
)
def test_h265_malformed_payload_drops_the_picture(bad: bytes) -> None:
    frames = encoded("libx265")
    stamps = timestamps(frames, 0)
    keyframes = [i for i, f in enumerate(frames) if f.keyframe]
    packets = packetize_h265([f.nals for f in frames[: keyframes[1] + 1]], 300, stamps[: keyframes[1] + 1])
    owner = _frame_of(packets, stamps)
    index = len(owner) - 1 - owner[::-1].index(3)
    packets[index] = Rtp(bad, packets[index].timestamp, True, packets[index].sequence)
    depacketizer = h265()
    units = push_all(depacketizer, packets)
    assert [u.data for u in units] == [
        f.annexb for i, f in enumerate(frames[: keyframes[1] + 1]) if not 3 <= i < keyframes[1]
    ]
    assert depacketizer.dropped == keyframes[1] - 3


def test_h265_decoding_order_numbers_are_unsupported() -> None:
    with pytest.raises(UnsupportedPacketization, match="sprop-max-don-diff"):
        depacketizer_for(video("H265", **{"sprop-max-don-diff": "2"}))
    assert depacketizer_for(video("H265", **{"sprop-max-don-diff": "0"})) is not None


# ---------------------------------------------------------------------------------------------- AAC


@functools.cache
def aac_stream(sample_rate: int = 16000, seconds: float = 1.0) -> tuple[bytes, list[bytes]]:
    """(AudioSpecificConfig, raw AAC access units) of a tone encoded by FFmpeg's AAC encoder."""
    context = av.CodecContext.create("aac", "w")
    context.sample_rate = sample_rate
    context.layout = "mono"
    context.format = "fltp"
    context.bit_rate = 128_000  # big enough for AUs larger than an lbr size field
    units: list[bytes] = []
    rng = random.Random(1)
    pts = 0
    while pts < sample_rate * seconds:
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        frame.planes[0].update(bytes(rng.randrange(256) & 0x3F for _ in range(4096)))
        frame.sample_rate = sample_rate
        frame.pts = pts
        pts += 1024
        units += [bytes(p) for p in context.encode(frame)]
    units += [bytes(p) for p in context.encode(None)]
    return bytes(context.extradata or b""), units


def aac(mode: str = "AAC-hbr", config: str = "1408", **extra: str) -> Depacketizer:
    lengths = {"AAC-hbr": ("13", "3", "3"), "AAC-lbr": ("6", "2", "2")}.get(mode, ("13", "3", "3"))
    fmtp = {
        "streamtype": "5",
        "mode": mode,
        "config": config,
        "sizelength": lengths[0],
        "indexlength": lengths[1],
        "indexdeltalength": lengths[2],
        **extra,
    }
    depacketizer = depacketizer_for(MediaDescription("audio", 97, "MPEG4-GENERIC", 16000, 1, fmtp, "u"))
    assert depacketizer is not None
    return depacketizer


def aac_packet(
    units: list[bytes], size_length: int = 13, index_length: int = 3, sizes: list[int] | None = None
) -> bytes:
    """RFC 3640 payload: AU-headers-length, AU headers (size, index/delta 0), padded to bytes, the AUs."""
    bits = 0
    count = 0
    for size in sizes or [len(u) for u in units]:
        bits = (bits << (size_length + index_length)) | (size << index_length)
        count += size_length + index_length
    padding = -count % 8
    headers = (bits << padding).to_bytes((count + padding) // 8, "big")
    return count.to_bytes(2, "big") + headers + b"".join(units)


def test_aac_hbr_several_units_per_packet() -> None:
    config, frames = aac_stream()
    assert len(frames) >= 15 and all(len(f) > 63 for f in frames[:15])
    depacketizer = aac(config=config.hex())
    assert depacketizer.extradata() == config
    assert (depacketizer.codec_name, depacketizer.clock_rate) == ("aac", 16000)
    units: list[AccessUnit] = []
    start = 2**32 - 2048
    for n, group in enumerate([frames[0:3], frames[3:4], frames[4:9]]):
        stamp = (start + 1024 * [0, 3, 4][n]) & 0xFFFF_FFFF
        units += depacketizer.push(memoryview(aac_packet(group)), stamp, True, n)
    assert [u.data for u in units] == frames[:9]
    assert [u.timestamp for u in units] == [(start + 1024 * i) & 0xFFFF_FFFF for i in range(9)]
    assert {(u.keyframe, u.duration) for u in units} == {(True, 1024)}
    assert depacketizer.dropped == 0


def test_aac_lbr() -> None:
    small = [bytes(range(n, n + 40)) for n in range(4)]
    depacketizer = aac("AAC-lbr")
    units = depacketizer.push(aac_packet(small, 6, 2), 500, True, 1)
    assert [(u.data, u.timestamp) for u in units] == [(d, 500 + 1024 * i) for i, d in enumerate(small)]


def test_aac_fragmented_unit_is_reassembled() -> None:
    big = bytes(random.Random(5).randrange(256) for _ in range(3000))
    pieces = [big[:1000], big[1000:2200], big[2200:]]
    depacketizer = aac()
    out: list[AccessUnit] = []
    for n, piece in enumerate(pieces):
        out += depacketizer.push(aac_packet([piece], sizes=[len(big)]), 7000, n == 2, 10 + n)
    assert [(u.data, u.timestamp) for u in out] == [(big, 7000)]
    # a lost fragment loses that unit only; the next packet is fine
    out = depacketizer.push(aac_packet([pieces[0]], sizes=[3000]), 8024, False, 13)
    out += depacketizer.push(aac_packet([pieces[2]], sizes=[3000]), 8024, True, 15)
    out += depacketizer.push(aac_packet([b"abc"]), 9048, True, 16)
    assert [(u.data, u.timestamp) for u in out] == [(b"abc", 9048)]
    assert depacketizer.dropped == 2  # the unit whose middle was lost, then its orphaned end


def test_aac_frame_length_960_from_config() -> None:
    # AAC-LC, 16 kHz (index 8), mono, frameLengthFlag set: 00010 1000 0001 1 00
    depacketizer = aac(config="140C")
    units = depacketizer.push(aac_packet([b"x", b"y"]), 0, True, 0)
    assert [(u.timestamp, u.duration) for u in units] == [(0, 960), (960, 960)]


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x00",
        b"\x00\x00abc",  # no AU headers
        b"\x00\x10",  # headers announced but missing
        b"\x00\x20\x00\x10\x00\x09ab",  # second header has AU-Index-delta 1: interleaved
        b"\x00\x0f\x00\x10abc",  # header bits that are not a whole number of headers
    ],
)
def test_aac_malformed_or_interleaved_payloads_are_dropped(payload: bytes) -> None:
    depacketizer = aac()
    assert depacketizer.push(payload, 0, True, 0) == []
    assert depacketizer.dropped == 1
    assert [u.data for u in depacketizer.push(aac_packet([b"ok"]), 1024, True, 1)] == [b"ok"]


def test_aac_truncated_multi_unit_packet_keeps_the_whole_units() -> None:
    depacketizer = aac()
    units = depacketizer.push(aac_packet([b"aaaa", b"bbbb", b"cc"], sizes=[4, 4, 4]), 0, True, 0)
    assert [u.data for u in units] == [b"aaaa", b"bbbb"]
    assert depacketizer.dropped == 1


@pytest.mark.parametrize(
    ("fmtp", "message"),
    [
        ({"mode": "generic"}, "'generic'"),
        ({"mode": "CELP-cbr"}, "CELP-cbr"),
        ({}, r"\(none\)"),
        ({"mode": "AAC-hbr", "ctsdeltalength": "3"}, "ctsdeltalength"),
        ({"mode": "AAC-hbr", "config": "12zz"}, "config"),
        ({"mode": "AAC-hbr", "sizelength": "thirteen"}, "sizelength"),
    ],
)
def test_aac_unsupported_modes(fmtp: dict[str, str], message: str) -> None:
    media = MediaDescription("audio", 97, "MPEG4-GENERIC", 16000, 1, fmtp, "u")
    with pytest.raises(UnsupportedPacketization, match=message):
        depacketizer_for(media)


# ------------------------------------------------------------------------------------ G.711 and others


@pytest.mark.parametrize(("encoding", "codec"), [("PCMA", "pcm_alaw"), ("PCMU", "pcm_mulaw")])
def test_g711(encoding: str, codec: str) -> None:
    depacketizer = depacketizer_for(MediaDescription("audio", 8, encoding, 8000, 1, {}, "u"))
    assert depacketizer is not None
    assert (depacketizer.codec_name, depacketizer.clock_rate, depacketizer.extradata()) == (codec, 8000, b"")
    samples = bytes(range(160))
    (unit,) = depacketizer.push(memoryview(samples), 123, False, 5)
    assert unit == AccessUnit(samples, 123, True, 160)
    assert depacketizer.push(samples[:80], 283, False, 9) == [AccessUnit(samples[:80], 283, True, 80)]
    assert depacketizer.push(b"", 363, False, 10) == []
    assert depacketizer.dropped == 0


@pytest.mark.parametrize("encoding", ["JPEG", "OPUS", "", "H264-SVC"])
def test_unhandled_encodings(encoding: str) -> None:
    assert depacketizer_for(MediaDescription("video", 96, encoding, 90000, 1, {}, "u")) is None


def decodes_audio(config: bytes, unit: bytes) -> bool:
    context = av.CodecContext.create("aac", "r")
    context.extradata = config
    packet = av.Packet(unit)
    return any(frame.samples for frame in context.decode(packet))


def latm_payload(frames: list[bytes]) -> bytes:
    """AUs as RFC 3016 packs them with cpresent=0: PayloadLengthInfo (255s, then the rest), then the AU."""
    out = bytearray()
    for frame in frames:
        length = len(frame)
        while length >= 255:
            out.append(255)
            length -= 255
        out.append(length)
        out += frame
    return bytes(out)


def stream_mux_config(audio_specific_config: bytes) -> str:
    """StreamMuxConfig (ISO 14496-3 1.7.3) for one program and layer, as fmtp ``config`` hex."""
    asc_bits = "".join(f"{byte:08b}" for byte in audio_specific_config)
    bits = "0" + "1" + "000000" + "0000" + "000" + asc_bits + "000" + "11111111" + "0" + "0"
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big").hex()


def test_latm_config_gives_the_audio_specific_config() -> None:
    config = stream_mux_config(bytes.fromhex("1408"))
    media = MediaDescription("audio", 96, "MP4A-LATM", 16000, 1, {"cpresent": "0", "config": config}, "u")
    depacketizer = depacketizer_for(media)
    assert depacketizer is not None and depacketizer.codec_name == "aac"
    assert depacketizer.extradata()[:2] == bytes.fromhex("1408")


def test_latm_units_decode_and_long_units_span_packets() -> None:
    asc, frames = aac_stream()
    config = stream_mux_config(asc)
    media = MediaDescription("audio", 96, "MP4A-LATM", 16000, 1, {"cpresent": "0", "config": config}, "u")
    depacketizer = depacketizer_for(media)
    assert depacketizer is not None and depacketizer.extradata()[: len(asc)] == asc
    units = []
    for n, frame in enumerate(frames[:12]):
        units += depacketizer.push(memoryview(latm_payload([frame])), 1000 + n * 1024, True, n)
    assert [u.data for u in units] == frames[:12]
    assert [u.timestamp for u in units] == [1000 + n * 1024 for n in range(12)]
    assert decodes_audio(asc, units[0].data)
    long_unit = bytes(range(256)) * 3
    payload = latm_payload([long_unit])
    out = depacketizer.push(payload[:300], 90000, False, 12) + depacketizer.push(
        payload[300:], 90000, True, 13
    )
    assert [u.data for u in out] == [long_unit]
    assert depacketizer.push(payload[:300], 91024, False, 14) == []
    assert depacketizer.push(payload[300:], 91024, True, 16) == []  # a packet went missing
    assert depacketizer.dropped == 1


def test_latm_with_config_in_band_is_refused() -> None:
    media = MediaDescription("audio", 96, "MP4A-LATM", 16000, 1, {"cpresent": "1"}, "u")
    with pytest.raises(UnsupportedPacketization, match="cpresent=1"):
        depacketizer_for(media)
