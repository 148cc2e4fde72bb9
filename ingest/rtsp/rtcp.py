"""RTCP (RFC 3550 section 6.4): read a camera's sender reports, write the receiver reports it may wait for."""

from __future__ import annotations

import struct
from dataclasses import dataclass

NTP_UNIX_OFFSET = 2_208_988_800
"""Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01)."""

_SR = struct.Struct("!IIII")  # sender SSRC, NTP seconds, NTP fraction, RTP timestamp
_RR = struct.Struct("!BBHIIIIIII")


@dataclass(frozen=True, slots=True)
class SenderReport:
    """The camera's clock at one instant: ``rtp_timestamp`` was sampled at ``ntp_time`` (Unix seconds)."""

    ssrc: int
    ntp_time: float
    rtp_timestamp: int


def sender_report(packet: bytes | memoryview) -> SenderReport | None:
    """The first sender report (PT 200) in a compound RTCP packet; None if there is none or it's malformed."""
    size = len(packet)
    position = 0
    while size - position >= 4:
        first = packet[position]
        if first >> 6 != 2:
            return None
        end = position + 4 * (((packet[position + 2] << 8) | packet[position + 3]) + 1)
        if end > size:
            return None
        if packet[position + 1] == 200 and end - position >= 28:
            ssrc, seconds, fraction, rtp_timestamp = _SR.unpack_from(packet, position + 4)
            # RFC 4330 section 3: NTP seconds with the top bit clear are in era 1 (after 2036-02-07)
            if not seconds & 0x8000_0000:
                seconds += 1 << 32
            ntp_time = seconds - NTP_UNIX_OFFSET + fraction / 4_294_967_296
            return SenderReport(ssrc, ntp_time, rtp_timestamp)
        position = end
    return None


def _middle_ntp_bits(ntp_time: float) -> int:
    """The middle 32 bits of the 64-bit NTP timestamp of Unix time ``ntp_time`` (the LSR field)."""
    return int((ntp_time + NTP_UNIX_OFFSET) * 65536) & 0xFFFF_FFFF


def receiver_report(
    ssrc: int,
    media_ssrc: int,
    highest_sequence: int,
    last_sr: SenderReport | None,
    since_last_sr_s: float,
    cname: str = "yard-vms",
) -> bytes:
    """A compound RTCP packet: a receiver report (PT 201) with one report block about ``media_ssrc``
    (nothing lost, jitter 0), then the SDES CNAME that RFC 3550 requires in every compound packet.

    ``highest_sequence`` is the extended highest sequence number received (cycles << 16 | sequence);
    LSR/DLSR refer to ``last_sr``, received ``since_last_sr_s`` seconds ago (both 0 without one).
    """
    if last_sr is None:
        lsr = dlsr = 0
    else:
        lsr = _middle_ntp_bits(last_sr.ntp_time)
        dlsr = min(max(int(since_last_sr_s * 65536), 0), 0xFFFF_FFFF)
    return _RR.pack(
        0x81,  # version 2, no padding, one report block
        201,
        7,  # length in 32-bit words minus one
        ssrc & 0xFFFF_FFFF,
        media_ssrc & 0xFFFF_FFFF,
        0,  # fraction lost, cumulative number of packets lost
        highest_sequence & 0xFFFF_FFFF,
        0,  # interarrival jitter
        lsr,
        dlsr,
    ) + _sdes_cname(ssrc, cname)


def _sdes_cname(ssrc: int, cname: str) -> bytes:
    name = cname.encode("utf-8")[:255]
    chunk = (ssrc & 0xFFFF_FFFF).to_bytes(4, "big") + bytes([1, len(name)]) + name + b"\0"
    chunk += b"\0" * (-len(chunk) % 4)  # the item list ends with a null octet, padded to 32 bits
    return bytes([0x81, 202]) + (len(chunk) // 4).to_bytes(2, "big") + chunk
