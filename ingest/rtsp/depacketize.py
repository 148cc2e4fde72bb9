"""RTP depacketizers: RTP payloads in, whole access units out (H.264, H.265, AAC, G.711).

Runs for every RTP packet of every camera, so the video paths avoid per-packet copies: the pieces of an
access unit (views of the payloads passed in) are kept in a list and joined once when it is complete.
Payloads passed to ``push`` must therefore not change afterwards (bytes, or views of bytes).

Video: an access unit ends with the marker bit or when the timestamp changes. After a lost (sequence gap)
or malformed packet, access units are dropped (and counted in ``dropped``) until a whole keyframe arrives;
the first access units of a stream are passed on even if they are not keyframes. Keyframes that carry no
parameter sets get the latest known ones (from the SDP or in band) inserted, after a leading delimiter.
"""

from __future__ import annotations

import base64
import binascii
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from ingest.rtsp.sdp import MediaDescription

START_CODE = b"\x00\x00\x00\x01"
_MAX_CARRIED_PIECES = 64  # non-picture NAL units held for the next picture before giving up on them


@dataclass(slots=True)
class AccessUnit:
    """One decodable unit: a video picture (Annex-B) or audio frame(s), with its RTP timestamp."""

    data: bytes
    timestamp: int
    keyframe: bool
    duration: int = 0


class UnsupportedPacketization(ValueError):
    """The camera packs its media in an RTP payload format this client does not handle."""


class Depacketizer(Protocol):
    clock_rate: int
    codec_name: str
    dropped: int
    """Access units thrown away because of missing or malformed packets."""

    def push(
        self, payload: bytes | memoryview, timestamp: int, marker: bool, sequence: int
    ) -> list[AccessUnit]: ...

    def extradata(self) -> bytes: ...


Payload = bytes | memoryview


class _VideoDepacketizer(ABC):
    """What H.264 and H.265 share: assembling an access unit, losses, parameter sets, and the steps of
    fragmentation and aggregation, whose packet layouts differ only in the NAL unit header's size."""

    codec_name = ""
    _param_types: tuple[int, ...] = ()
    _all_params = 0  # bit mask of all _param_types

    def __init__(self, clock_rate: int, params: Iterable[bytes]) -> None:
        self.clock_rate = clock_rate
        self.dropped = 0
        self._params: dict[int, bytes] = {}
        self._params_annexb = b""
        self._pieces: list[Payload] = []
        self._timestamp = -1
        self._next_sequence = -1
        self._fragment = False  # inside a fragmented NAL unit
        self._fragment_param = -1  # piece index where a fragmented parameter set starts, or -1
        self._broken = False  # the access unit being assembled lost data: drop it
        self._wait_keyframe = False  # after a loss: drop access units until a keyframe
        self._keyframe = False
        self._picture = 0  # first slice seen: 0 none yet, 1 starts a picture, 2 continues one
        self._params_seen = 0  # bit mask of the parameter sets in this access unit
        self._insert_at = 0  # where parameter sets go: after a leading access unit delimiter
        for nal in params:
            if nal:
                self._set_param(self._nal_type(nal), nal)
        self._params_seen = 0

    @staticmethod
    @abstractmethod
    def _nal_type(nal: Payload) -> int:
        """The type of a NAL unit from its header."""

    @abstractmethod
    def _single(self, nal: Payload, nal_type: int) -> None:
        """Add one whole NAL unit to the access unit."""

    def extradata(self) -> bytes:
        return self._params_annexb

    def _set_param(self, nal_type: int, nal: Payload) -> None:
        if nal_type not in self._param_types:
            return
        self._params_seen |= 1 << self._param_types.index(nal_type)
        data = bytes(nal)
        if self._params.get(nal_type) != data:
            self._params[nal_type] = data
            self._params_annexb = b"".join(
                START_CODE + self._params[t] for t in self._param_types if t in self._params
            )

    def _arrive(self, timestamp: int, sequence: int, out: list[AccessUnit]) -> None:
        """A packet came: note a gap before it, and finish the access unit if a new one begins."""
        if sequence != self._next_sequence and self._next_sequence >= 0:
            self._gap()
        self._next_sequence = (sequence + 1) & 0xFFFF
        if timestamp != self._timestamp:
            if self._pieces or self._broken:
                self._finish(out)
            self._timestamp = timestamp

    def _continue_fragment(self, payload: Payload, header: int, offset: int) -> None:
        """Add a fragment's data (``payload[offset:]``); a fragment whose start is missing is dropped."""
        if not header & 0x80 and not self._fragment:
            self._lose()  # no start: its first part is missing
            return
        self._pieces.append(payload[offset:])
        if header & 0x40:  # end
            self._fragment = False
            if self._fragment_param >= 0:
                nal = b"".join(self._pieces[self._fragment_param :])[4:]
                self._fragment_param = -1
                self._set_param(self._nal_type(nal), nal)

    def _not_a_fragment(self) -> None:
        if self._fragment:  # a fragmented NAL unit never ended
            self._fragment = False
            self._fragment_param = -1
            self._lose()

    def _aggregated(self, payload: Payload, position: int, smallest: int) -> None:
        """The NAL units of an aggregation packet (STAP-A, AP), each after its 16-bit size."""
        size = len(payload)
        while position < size:
            if position + 2 >= size:
                self._lose()
                return
            end = position + 2 + ((payload[position] << 8) | payload[position + 1])
            if end > size or end < position + 2 + smallest:
                self._lose()
                return
            position += 2
            nal = payload[position:end]
            self._single(nal, self._nal_type(nal))
            position = end

    def _end(self, out: list[AccessUnit], marker: bool) -> list[AccessUnit]:
        if marker and not self._fragment:
            self._finish(out)
        return out

    def _gap(self) -> None:
        """Packets are missing: drop the access unit being assembled, if any, and what follows until a
        keyframe. The access unit starting after the gap may be that keyframe if its first slice is there."""
        self._wait_keyframe = True
        if self._pieces or self._fragment:
            self._broken = True

    def _lose(self) -> None:
        """The current packet is malformed: drop its access unit, and what follows until a keyframe."""
        self._broken = True
        self._wait_keyframe = True

    def _finish(self, out: list[AccessUnit]) -> None:
        """The access unit being assembled is complete (marker bit or new timestamp): emit or drop it."""
        pieces = self._pieces
        if self._broken or self._fragment:
            self.dropped += 1
            self._wait_keyframe = True
        elif not self._picture:
            # parameter sets / SEI without a picture (some cameras send them with their own timestamp):
            # keep them for the next picture
            if len(pieces) <= _MAX_CARRIED_PIECES:
                return
        elif self._wait_keyframe and not (self._keyframe and self._picture == 1):
            self.dropped += 1
        else:
            self._wait_keyframe = False
            if self._keyframe and self._params_seen != self._all_params and self._params_annexb:
                pieces.insert(self._insert_at, self._params_annexb)
            out.append(AccessUnit(b"".join(pieces), self._timestamp, self._keyframe))
        self._pieces = []
        self._broken = self._fragment = self._keyframe = False
        self._fragment_param = -1
        self._picture = self._params_seen = self._insert_at = 0


class H264Depacketizer(_VideoDepacketizer):
    """RFC 6184, packetization modes 0 and 1: single NAL units, STAP-A and FU-A."""

    codec_name = "h264"
    _param_types = (7, 8)  # SPS, PPS
    _all_params = 0b11

    def __init__(self, clock_rate: int = 90000, sprop_parameter_sets: str = "") -> None:
        super().__init__(clock_rate, _base64_list(sprop_parameter_sets))

    @staticmethod
    def _nal_type(nal: Payload) -> int:
        return nal[0] & 0x1F

    def push(self, payload: Payload, timestamp: int, marker: bool, sequence: int) -> list[AccessUnit]:
        out: list[AccessUnit] = []
        self._arrive(timestamp, sequence, out)
        size = len(payload)
        if size:
            nal_type = payload[0] & 0x1F
            if nal_type == 28:  # FU-A
                if size < 3:
                    self._lose()
                else:
                    header = payload[1]
                    if header & 0x80:  # start
                        if self._fragment:
                            self._lose()
                        nal_type = header & 0x1F
                        self._nal_start(nal_type, payload[2])
                        self._fragment_param = len(self._pieces) if nal_type == 7 or nal_type == 8 else -1
                        self._pieces.append(_H264_STARTS[(payload[0] & 0xE0) | nal_type])
                        self._fragment = True
                    self._continue_fragment(payload, header, 2)
            else:
                self._not_a_fragment()
                if nal_type < 24:
                    self._single(payload, nal_type)
                elif nal_type == 24:  # STAP-A
                    self._aggregated(payload, 1, 1)
                elif nal_type != 30 and nal_type != 31:
                    # STAP-B, MTAP, FU-B (interleaved mode) and reserved types; 30/31 may be ignored
                    self._lose()
        return self._end(out, marker)

    def _nal_start(self, nal_type: int, first_payload_byte: int) -> None:
        if 1 <= nal_type <= 5:
            if nal_type == 5:
                self._keyframe = True
            if not self._picture:
                # first_mb_in_slice is ue(v): a leading 1 bit means 0, the first slice of a picture
                self._picture = 1 if first_payload_byte & 0x80 else 2
        elif nal_type == 9 and not self._pieces:
            self._insert_at = 2

    def _single(self, nal: Payload, nal_type: int) -> None:
        if 1 <= nal_type <= 5:
            self._nal_start(nal_type, nal[1] if len(nal) > 1 else 0)
        elif nal_type == 7 or nal_type == 8:
            self._set_param(nal_type, nal)
        elif nal_type == 9 and not self._pieces:
            self._insert_at = 2
        self._pieces.append(START_CODE)
        self._pieces.append(nal)


_H264_STARTS = [START_CODE + bytes((header,)) for header in range(256)]


class H265Depacketizer(_VideoDepacketizer):
    """RFC 7798 without decoding order numbers: single NAL units, aggregation packets (AP) and FUs."""

    codec_name = "hevc"
    _param_types = (32, 33, 34)  # VPS, SPS, PPS
    _all_params = 0b111

    def __init__(self, clock_rate: int = 90000, vps: str = "", sps: str = "", pps: str = "") -> None:
        super().__init__(clock_rate, [*_base64_list(vps), *_base64_list(sps), *_base64_list(pps)])
        self._starts: dict[int, bytes] = {}

    @staticmethod
    def _nal_type(nal: Payload) -> int:
        return (nal[0] >> 1) & 0x3F

    def push(self, payload: Payload, timestamp: int, marker: bool, sequence: int) -> list[AccessUnit]:
        out: list[AccessUnit] = []
        self._arrive(timestamp, sequence, out)
        size = len(payload)
        if size >= 2:
            nal_type = (payload[0] >> 1) & 0x3F
            if nal_type == 49:  # FU
                if size < 4:
                    self._lose()
                else:
                    header = payload[2]
                    if header & 0x80:  # start
                        if self._fragment:
                            self._lose()
                        nal_type = header & 0x3F
                        self._nal_start(nal_type, payload[3])
                        self._fragment_param = len(self._pieces) if 32 <= nal_type <= 34 else -1
                        first = (payload[0] & 0x81) | (nal_type << 1)
                        key = (first << 8) | payload[1]
                        start = self._starts.get(key)
                        if start is None:
                            start = self._starts[key] = START_CODE + bytes((first, payload[1]))
                        self._pieces.append(start)
                        self._fragment = True
                    self._continue_fragment(payload, header, 3)
            else:
                self._not_a_fragment()
                if nal_type < 48:
                    self._single(payload, nal_type)
                elif nal_type == 48:  # AP
                    self._aggregated(payload, 2, 2)
                elif nal_type == 50:  # PACI: its payload header extensions are not understood here
                    self._lose()
        elif size:
            self._lose()
        return self._end(out, marker)

    def _nal_start(self, nal_type: int, first_payload_byte: int) -> None:
        if nal_type < 32:
            if 16 <= nal_type <= 21:  # IRAP: BLA, IDR, CRA
                self._keyframe = True
            if not self._picture:
                # first_slice_segment_in_pic_flag is the first bit after the NAL unit header
                self._picture = 1 if first_payload_byte & 0x80 else 2
        elif nal_type == 35 and not self._pieces:  # access unit delimiter
            self._insert_at = 2

    def _single(self, nal: Payload, nal_type: int) -> None:
        if nal_type < 32:
            self._nal_start(nal_type, nal[2] if len(nal) > 2 else 0)
        elif nal_type <= 34:
            self._set_param(nal_type, nal)
        elif nal_type == 35 and not self._pieces:
            self._insert_at = 2
        self._pieces.append(START_CODE)
        self._pieces.append(nal)


class AacDepacketizer:
    """RFC 3640 mpeg4-generic, AAC-hbr and AAC-lbr: AU headers, several AUs per packet, fragmented AUs."""

    codec_name = "aac"

    def __init__(
        self, clock_rate: int, config: bytes, size_length: int, index_length: int, index_delta_length: int
    ) -> None:
        self.clock_rate = clock_rate
        self.dropped = 0
        self._config = config
        self._size_length = size_length
        self._index_length = index_length
        self._index_delta_length = index_delta_length
        self._samples = _aac_frame_length(config)
        self._next_sequence = -1
        self._fragments: list[Payload] = []
        self._fragment_size = 0  # size of the fragmented AU being assembled
        self._fragment_have = 0
        self._fragment_timestamp = 0

    def extradata(self) -> bytes:
        return self._config

    def _drop_fragment(self) -> None:
        if self._fragments:
            self.dropped += 1
            self._fragments = []

    def push(self, payload: Payload, timestamp: int, marker: bool, sequence: int) -> list[AccessUnit]:
        out: list[AccessUnit] = []
        if sequence != self._next_sequence and self._next_sequence >= 0:
            self._drop_fragment()
        self._next_sequence = (sequence + 1) & 0xFFFF
        if self._fragments and timestamp != self._fragment_timestamp:
            self._drop_fragment()
        sizes = self._au_sizes(payload)
        if sizes is None:
            self._drop_fragment()
            self.dropped += 1
            return out
        position = 2 + (((payload[0] << 8) | payload[1]) + 7) // 8
        size = len(payload)
        if len(sizes) == 1 and (self._fragments or position + sizes[0] > size):
            self._fragment(payload[position:], sizes[0], timestamp, out)
            return out
        if self._fragments:
            self._drop_fragment()
        samples = self._samples
        for index, au_size in enumerate(sizes):
            end = position + au_size
            if end > size:
                self.dropped += len(sizes) - index
                break
            out.append(
                AccessUnit(
                    bytes(payload[position:end]), (timestamp + index * samples) & 0xFFFF_FFFF, True, samples
                )
            )
            position = end
        return out

    def _fragment(self, data: Payload, au_size: int, timestamp: int, out: list[AccessUnit]) -> None:
        if not self._fragments:
            self._fragment_size = au_size
            self._fragment_have = 0
            self._fragment_timestamp = timestamp
        elif au_size != self._fragment_size:
            self._drop_fragment()
            self.dropped += 1  # this fragment belongs to an AU whose start is missing
            return
        self._fragments.append(data)
        self._fragment_have += len(data)
        if self._fragment_have >= au_size:
            if self._fragment_have == au_size:
                out.append(AccessUnit(b"".join(self._fragments), timestamp, True, self._samples))
            else:
                self.dropped += 1
            self._fragments = []

    def _au_sizes(self, payload: Payload) -> list[int] | None:
        """The AU sizes from the AU header section, None if it is malformed or interleaved."""
        if len(payload) < 2:
            return None
        header_bits = (payload[0] << 8) | payload[1]
        header_bytes = (header_bits + 7) // 8
        if not header_bits or 2 + header_bytes > len(payload):
            return None
        bits = int.from_bytes(payload[2 : 2 + header_bytes], "big")
        remaining = header_bytes * 8
        size_length = self._size_length
        sizes: list[int] = []
        used = 0
        while header_bits - used >= size_length + (self._index_delta_length if sizes else self._index_length):
            index_length = self._index_delta_length if sizes else self._index_length
            used += size_length + index_length
            value = bits >> (remaining - used)
            if sizes and value & ((1 << index_length) - 1):
                return None  # an AU-Index-delta other than 0: interleaving
            sizes.append((value >> index_length) & ((1 << size_length) - 1))
        return sizes if sizes and used == header_bits else None


class LatmDepacketizer:
    """RFC 3016 MP4A-LATM with the configuration out of band (``cpresent=0``): each AU is preceded by
    its PayloadLengthInfo (bytes of 255 summed up to the first smaller one); an RTP packet carries whole
    AUs, or an AU spread over packets up to the marker bit."""

    codec_name = "aac"

    def __init__(self, clock_rate: int, config: bytes) -> None:
        self.clock_rate = clock_rate
        self.dropped = 0
        self._config = config
        self._samples = _aac_frame_length(config)
        self._parts: list[Payload] = []
        self._timestamp = -1
        self._next_sequence = -1
        self._skipping = False

    def extradata(self) -> bytes:
        return self._config

    def push(self, payload: Payload, timestamp: int, marker: bool, sequence: int) -> list[AccessUnit]:
        lost = self._next_sequence >= 0 and sequence != self._next_sequence
        self._next_sequence = (sequence + 1) & 0xFFFF
        if lost:
            if self._parts:
                self._parts = []
                self.dropped += 1
            # What follows may be the rest of an AU whose start is gone: skip up to its marker bit,
            # unless the timestamp shows a new AU.
            self._skipping = timestamp == self._timestamp
        if self._skipping:
            if timestamp == self._timestamp:
                if marker:
                    self._skipping = False
                return []
            self._skipping = False
        if self._parts and timestamp != self._timestamp:
            self._parts = []
            self.dropped += 1
        if not self._parts:
            self._timestamp = timestamp
        self._parts.append(payload)
        if not marker:
            return []
        data = b"".join(self._parts) if len(self._parts) > 1 else bytes(self._parts[0])
        self._parts = []
        units: list[AccessUnit] = []
        position, size = 0, len(data)
        while position < size:
            length = 0
            while position < size:
                value = data[position]
                position += 1
                length += value
                if value != 0xFF:
                    break
            if length == 0 or position + length > size:
                self.dropped += 1
                break
            stamp = (timestamp + len(units) * self._samples) & 0xFFFF_FFFF
            units.append(AccessUnit(data[position : position + length], stamp, True, self._samples))
            position += length
        return units


def latm_audio_specific_config(stream_mux_config: bytes) -> bytes:
    """The AudioSpecificConfig inside a StreamMuxConfig (fmtp ``config`` of MP4A-LATM), as FFmpeg reads it:
    audioMuxVersion 0, all streams same time framing, one program, one layer; else
    ``UnsupportedPacketization``."""
    if len(stream_mux_config) < 3:
        raise UnsupportedPacketization("the camera's MP4A-LATM stream has no usable config in its SDP")
    bits = int.from_bytes(stream_mux_config, "big")
    total = len(stream_mux_config) * 8
    audio_mux_version = bits >> (total - 1) & 1
    same_time_framing = bits >> (total - 2) & 1
    programs = bits >> (total - 12) & 0xF
    layers = bits >> (total - 15) & 0x7
    if audio_mux_version or not same_time_framing or programs or layers:
        raise UnsupportedPacketization(
            "the camera's MP4A-LATM config uses several programs/layers or mux version 1, "
            "which is not supported"
        )
    rest = total - 15
    value = bits & ((1 << rest) - 1)
    length = (rest + 7) // 8
    return (value << (length * 8 - rest)).to_bytes(length, "big")


def _aac_frame_length(config: bytes) -> int:
    """Samples per AU from an AudioSpecificConfig: 960 when GASpecificConfig's frameLengthFlag is set."""
    if len(config) < 2:
        return 1024
    bits = int.from_bytes(config[:8].ljust(8, b"\0"), "big")
    position = 64
    object_type = (bits >> (position - 5)) & 0x1F
    position -= 5
    if object_type == 31:
        object_type = 32 + ((bits >> (position - 6)) & 0x3F)
        position -= 6
    frequency_index = (bits >> (position - 4)) & 0xF
    position -= 4
    if frequency_index == 15:
        position -= 24
    position -= 4  # channel configuration
    flag = (bits >> (position - 1)) & 1
    if object_type in (23, 39):  # AAC-LD, AAC-ELD
        return 480 if flag else 512
    if object_type in (1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22):
        return 960 if flag else 1024
    return 1024


class G711Depacketizer:
    """RFC 3551 PCMA/PCMU: every payload is a run of 8-bit samples."""

    def __init__(self, codec_name: str, clock_rate: int, channels: int) -> None:
        self.codec_name = codec_name
        self.clock_rate = clock_rate
        self.dropped = 0
        self._channels = max(channels, 1)

    def push(self, payload: Payload, timestamp: int, marker: bool, sequence: int) -> list[AccessUnit]:
        if not payload:
            return []
        return [AccessUnit(bytes(payload), timestamp, True, len(payload) // self._channels)]

    def extradata(self) -> bytes:
        return b""


def _base64_list(text: str) -> list[bytes]:
    """NAL units from a comma-separated base64 list (sprop-parameter-sets, ...); bad items are left out."""
    nals: list[bytes] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            nal = base64.b64decode(item + "=" * (-len(item) % 4))
        except (binascii.Error, ValueError):
            continue
        if nal:
            nals.append(nal)
    return nals


def _fmtp_int(media: MediaDescription, key: str, default: int) -> int:
    value = media.fmtp.get(key, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise UnsupportedPacketization(
            f"the camera's {media.encoding} stream has a non-numeric {key} ({value!r}) in its SDP"
        ) from None


_AAC_MODES = {"aac-hbr": (13, 3, 3), "aac-lbr": (6, 2, 2)}
_AAC_UNSUPPORTED = (
    "constantsize",
    "ctsdeltalength",
    "dtsdeltalength",
    "randomaccessindication",
    "streamstateindication",
    "auxiliarydatasizelength",
)


def depacketizer_for(media: MediaDescription) -> Depacketizer | None:
    """A depacketizer for ``media``; None when its encoding is not handled.

    Raises UnsupportedPacketization when the encoding is handled but packed in a way that is not.
    """
    encoding = media.encoding
    clock_rate = media.clock_rate
    if encoding == "H264":
        mode = _fmtp_int(media, "packetization-mode", 0)
        if mode not in (0, 1):
            raise UnsupportedPacketization(
                f"the camera sends H.264 in RTP packetization-mode {mode}"
                + (" (interleaved)" if mode == 2 else "")
                + "; only modes 0 and 1 are supported: change the camera's RTP/streaming settings"
            )
        return H264Depacketizer(clock_rate or 90000, media.fmtp.get("sprop-parameter-sets", ""))
    if encoding in ("H265", "HEVC"):
        if _fmtp_int(media, "sprop-max-don-diff", 0) > 0:
            raise UnsupportedPacketization(
                "the camera sends H.265 with decoding order numbers (sprop-max-don-diff > 0), "
                "which is not supported"
            )
        fmtp = media.fmtp
        return H265Depacketizer(
            clock_rate or 90000,
            fmtp.get("sprop-vps", ""),
            fmtp.get("sprop-sps", ""),
            fmtp.get("sprop-pps", ""),
        )
    if encoding == "MPEG4-GENERIC":
        aac_mode = media.fmtp.get("mode", "")
        defaults = _AAC_MODES.get(aac_mode.lower())
        if defaults is None:
            raise UnsupportedPacketization(
                f"the camera sends MPEG-4 audio in RTP mode {aac_mode or '(none)'!r}; "
                "only AAC-hbr and AAC-lbr are supported"
            )
        for key in _AAC_UNSUPPORTED:
            if _fmtp_int(media, key, 0):
                raise UnsupportedPacketization(f"the camera's AAC stream uses {key}, which is not supported")
        try:
            config = bytes.fromhex(media.fmtp.get("config", ""))
        except ValueError:
            raise UnsupportedPacketization(
                "the camera's AAC stream has an invalid config (AudioSpecificConfig) in its SDP"
            ) from None
        size_length = _fmtp_int(media, "sizelength", defaults[0])
        if not 1 <= size_length <= 16:
            raise UnsupportedPacketization(
                f"the camera's AAC stream has an unusable sizelength {size_length}"
            )
        return AacDepacketizer(
            clock_rate,
            config,
            size_length,
            _fmtp_int(media, "indexlength", defaults[1]),
            _fmtp_int(media, "indexdeltalength", defaults[2]),
        )
    if encoding == "MP4A-LATM":
        if media.fmtp.get("cpresent", "1").strip() != "0":
            raise UnsupportedPacketization(
                "the camera sends MP4A-LATM with the configuration in band (cpresent=1), "
                "which is not supported"
            )
        try:
            mux_config = bytes.fromhex(media.fmtp.get("config", ""))
        except ValueError:
            raise UnsupportedPacketization(
                "the camera's MP4A-LATM stream has an invalid config in its SDP"
            ) from None
        return LatmDepacketizer(clock_rate, latm_audio_specific_config(mux_config))
    if encoding == "PCMA":
        return G711Depacketizer("pcm_alaw", clock_rate or 8000, media.channels)
    if encoding == "PCMU":
        return G711Depacketizer("pcm_mulaw", clock_rate or 8000, media.channels)
    return None
