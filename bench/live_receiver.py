"""A receiver process for ``bench.live_capacity``: aiortc peer connections that receive a WHEP stream's RTP
but decode nothing.

    python -m bench.live_receiver WHEP_URL TOKEN [RCVBUF_BYTES]

aiortc's receive path is cut right after SRTP: ``RTCRtpReceiver._handle_rtp_packet`` is replaced (in this
process only) by a counter of packets, bytes, RTP sequence numbers (for loss) and frames (marker bit, with
arrival time against RTP time for delay variation); the decoder thread exits at once. So a viewer costs
what ICE, DTLS and SRTP cost, as a browser's network stack would, without a decoder. Its UDP sockets ask
for the receive buffer a browser's WebRTC stack asks for (RCVBUF_BYTES, default 256 KiB; 0: aioice's
default). No NACKs are sent, so lost packets stay lost (a browser would ask for them again).

Commands on stdin, one per line, each answered with one line on stdout:

* ``open M``: open M more views (``OPENED {"opened": total, "failed": n}``)
* ``stats``: per view, what arrived since the last ``stats`` (``STATS {"views": [...]}``)
* ``quit``: close every peer connection and exit (also when stdin closes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiortc.rtcrtpreceiver as rtcrtpreceiver
import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtp import RtpPacket

from bench.live_node import bench_settings
from viewer.webrtc.codecs import register_h264_profiles
from viewer.webrtc.ice import use_host_addresses

OPEN_CONCURRENCY = 4
RTP_CLOCK = 90000
BROWSER_RCVBUF = 256 * 1024
"""The UDP receive buffer libwebrtc asks for on video channels (``kVideoRtpRecvBufferSize``); aioice keeps
the system default (``net.core.rmem_default``, often 208 KiB), which one 1080p keyframe burst overflows."""


@dataclass
class StreamCounts:
    """What one view received. Extended (unwrapped) sequence numbers give the packets sent meanwhile."""

    packets: int = 0
    bytes: int = 0
    frames: int = 0
    highest_seq: int | None = None
    last_timestamp: int | None = None
    timestamp_cycles: int = 0
    transits: list[float] = field(default_factory=list)
    """Per frame in this window: arrival (monotonic s) minus RTP time (s); their spread is the delay
    variation."""
    window_start: tuple[int, int, int, int] = (0, 0, 0, 0)
    """(packets, bytes, frames, highest_seq) when the window started."""

    def add(self, packet: RtpPacket) -> None:
        seq = packet.sequence_number
        if self.highest_seq is None:
            self.highest_seq = seq - 1
            self.window_start = (0, 0, 0, seq - 1)
        step = (seq - self.highest_seq) & 0xFFFF
        if step < 0x8000:  # forward; otherwise reordered or duplicated
            self.highest_seq += step
        self.packets += 1
        self.bytes += len(packet.payload)
        if packet.marker:
            self.frames += 1
            timestamp = packet.timestamp
            if self.last_timestamp is not None and timestamp < self.last_timestamp - 2**31:
                self.timestamp_cycles += 1
            self.last_timestamp = timestamp
            self.transits.append(time.monotonic() - (timestamp + self.timestamp_cycles * 2**32) / RTP_CLOCK)

    def window(self) -> dict[str, Any]:
        """Since the last call: packets, bytes, frames, sequence numbers covered, delay variation."""
        packets, size, frames, seq = self.window_start
        highest = self.highest_seq if self.highest_seq is not None else seq
        transits, self.transits = self.transits, []
        spread = sorted(t - min(transits) for t in transits) if transits else []
        report = {
            "packets": self.packets - packets,
            "bytes": self.bytes - size,
            "frames": self.frames - frames,
            "expected": highest - seq,
            "delay_variation_p50_ms": round(statistics.median(spread) * 1000, 1) if spread else None,
            "delay_variation_p99_ms": round(spread[int(0.99 * (len(spread) - 1))] * 1000, 1)
            if spread
            else None,
        }
        self.window_start = (self.packets, self.bytes, self.frames, highest)
        return report


COUNTS: list[StreamCounts] = []


async def _count_rtp(self: Any, packet: RtpPacket, arrival_time_ms: int) -> None:
    counts: StreamCounts | None = getattr(self, "_bench_counts", None)
    if counts is None:
        counts = self._bench_counts = StreamCounts()
        COUNTS.append(counts)
    counts.add(packet)


def _no_decoder(
    loop: asyncio.AbstractEventLoop, input_q: Any, output_q: Any, decode_error: threading.Event
) -> None:
    """The decoder thread's body: nothing to decode here."""


def install_counting_receiver() -> None:
    rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet = _count_rtp  # type: ignore[method-assign]
    rtcrtpreceiver.decoder_worker = _no_decoder


class Receivers:
    def __init__(self, url: str, token: str, rcvbuf: int = BROWSER_RCVBUF) -> None:
        self._url = url
        self._rcvbuf = rcvbuf
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"}
        self._http = httpx.AsyncClient(timeout=60)
        self.pcs: list[RTCPeerConnection] = []
        self.failed = 0

    async def open(self, count: int) -> None:
        gate = asyncio.Semaphore(OPEN_CONCURRENCY)

        async def one() -> None:
            async with gate:
                try:
                    await self._open_one()
                except Exception as exc:  # reported as a count; the benchmark stops on failures
                    self.failed += 1
                    print(f"open failed: {exc!r}", file=sys.stderr, flush=True)

        await asyncio.gather(*(one() for _ in range(count)))

    async def _open_one(self) -> None:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs.append(pc)
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        if self._rcvbuf:
            _set_receive_buffers(pc, self._rcvbuf)
        response = await self._http.post(self._url, content=pc.localDescription.sdp, headers=self._headers)
        if response.status_code != 201:
            raise RuntimeError(f"WHEP answered {response.status_code}: {response.text[:200]}")
        await pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))

    def stats(self) -> dict[str, Any]:
        return {
            "views": [counts.window() for counts in COUNTS],
            "pcs": len(self.pcs),
            "connected": sum(1 for pc in self.pcs if pc.connectionState == "connected"),
            "states": dict(Counter(pc.connectionState for pc in self.pcs)),
            "failed": self.failed,
        }

    async def close(self) -> None:
        await asyncio.gather(*(pc.close() for pc in self.pcs), return_exceptions=True)
        await self._http.aclose()


def _set_receive_buffers(pc: RTCPeerConnection, size: int) -> None:
    """SO_RCVBUF of the peer connection's ICE sockets (gathered by now)."""
    for transceiver in pc.getTransceivers():
        connection = transceiver.receiver.transport.transport._connection
        for protocol in connection._protocols:
            sock = protocol.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


async def serve(url: str, token: str, rcvbuf: int) -> None:
    register_h264_profiles()  # offer Main/High too, as browsers do
    use_host_addresses(bench_settings())  # 127.0.0.1 only (aioice leaves loopback out by default)
    install_counting_receiver()
    receivers = Receivers(url, token, rcvbuf)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            words = line.split()
            if not words or words[0] == "quit":
                break
            if words[0] == "open":
                await receivers.open(int(words[1]))
                answer = {"opened": len(receivers.pcs), "failed": receivers.failed}
                print("OPENED " + json.dumps(answer), flush=True)
            elif words[0] == "stats":
                print("STATS " + json.dumps(receivers.stats()), flush=True)
    finally:
        await receivers.close()


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(argv[0], argv[1], int(argv[2]) if len(argv) == 3 else BROWSER_RCVBUF))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
