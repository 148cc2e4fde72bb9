"""H.264 byte streams as the hub carries them (Annex-B): NAL units, parameter sets, keyframe repair."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

START_CODE = b"\x00\x00\x00\x01"
NAL_IDR = 5
NAL_SPS = 7
NAL_PPS = 8


def nal_units(data: bytes) -> Iterator[bytes]:
    """The NAL units of an Annex-B byte stream, without their start codes."""
    i = data.find(b"\x00\x00\x01")
    while i != -1:
        start = i + 3
        i = data.find(b"\x00\x00\x01", start)
        end = len(data) if i == -1 else i
        while end > start and data[end - 1] == 0 and i != -1:
            end -= 1  # a 4-byte start code (or trailing zero bytes) belongs to the next unit
        if end > start:
            yield data[start:end]


def nal_type(unit: bytes) -> int:
    return unit[0] & 0x1F


def annex_b(units: list[bytes]) -> bytes:
    return b"".join(START_CODE + unit for unit in units)


def extradata_to_annex_b(extradata: bytes) -> bytes:
    """Codec extradata as an Annex-B byte stream; converts an ``avcC`` record (MP4 style) if given one."""
    if len(extradata) < 7 or extradata[0] != 1:
        return extradata
    units: list[bytes] = []
    pos = 5
    for count_mask in (0x1F, 0xFF):  # the SPS count, then the PPS count
        if pos >= len(extradata):
            break
        count = extradata[pos] & count_mask
        pos += 1
        for _ in range(count):
            size = int.from_bytes(extradata[pos : pos + 2], "big")
            unit = extradata[pos + 2 : pos + 2 + size]
            if len(unit) != size or size == 0:
                return annex_b(units)
            units.append(unit)
            pos += 2 + size
    return annex_b(units)


@dataclass(frozen=True, slots=True)
class ParameterSets:
    """The latest SPS and PPS of a stream, in Annex-B form."""

    sps: bytes = b""
    pps: bytes = b""

    @property
    def complete(self) -> bool:
        return bool(self.sps and self.pps)

    def annex_b(self) -> bytes:
        return annex_b([unit for unit in (self.sps, self.pps) if unit])

    def updated_from(self, data: bytes) -> ParameterSets:
        """These parameter sets, replaced by any SPS/PPS found in ``data``."""
        sps, pps = self.sps, self.pps
        for unit in nal_units(data):
            kind = nal_type(unit)
            if kind == NAL_SPS:
                sps = unit
            elif kind == NAL_PPS:
                pps = unit
        if (sps, pps) == (self.sps, self.pps):
            return self
        return ParameterSets(sps, pps)

    @classmethod
    def from_extradata(cls, extradata: bytes) -> ParameterSets:
        return cls().updated_from(extradata_to_annex_b(extradata))


def with_parameter_sets(keyframe: bytes, parameter_sets: ParameterSets) -> bytes:
    """``keyframe`` with SPS and PPS in front, unless it carries both already (or none are known)."""
    kinds = {nal_type(unit) for unit in nal_units(keyframe)}
    if {NAL_SPS, NAL_PPS} <= kinds or not parameter_sets.complete:
        return keyframe
    return parameter_sets.annex_b() + keyframe
