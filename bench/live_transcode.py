"""The naive alternative for ``bench.live_capacity``: an aiortc WHEP server that decodes the camera and
re-encodes it for every viewer (what aiortc's examples do: ``MediaPlayer`` + ``MediaRelay``).

    python -m bench.live_transcode RTSP_URL

Same protocol as ``bench.live_node``: prints ``READY {"whep_url", "token"}``, answers ``stats``, exits on
``quit`` or when stdin closes. H.264 is forced (aiortc's encoder: libx264, its default preset, tune
zerolatency, Baseline, 1 Mbit/s start, up to 3 Mbit/s with the receivers' feedback), as a browser would get.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer, MediaRelay
from fastapi import FastAPI, Request, Response

from bench.live_node import _serve, bench_settings
from viewer.webrtc.ice import use_host_addresses


def build_app(rtsp_url: str, pcs: set[RTCPeerConnection]) -> FastAPI:
    app = FastAPI()
    state: dict[str, Any] = {}

    @app.post("/whep", status_code=201)
    async def whep(request: Request) -> Response:
        if "player" not in state:  # created inside the server's event loop
            state["player"] = MediaPlayer(rtsp_url, options={"rtsp_transport": "tcp"}, decode=True)
            state["relay"] = MediaRelay()
        offer = (await request.body()).decode()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pcs.add(pc)
        sender = pc.addTrack(state["relay"].subscribe(state["player"].video))
        transceiver = next(t for t in pc.getTransceivers() if t.sender is sender)
        codecs = RTCRtpSender.getCapabilities("video").codecs
        transceiver.setCodecPreferences([c for c in codecs if c.mimeType == "video/H264"])
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return Response(pc.localDescription.sdp, status_code=201, media_type="application/sdp")

    return app


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    use_host_addresses(bench_settings())
    pcs: set[RTCPeerConnection] = set()
    server, thread, port = _serve(build_app(argv[0], pcs))
    try:
        print("READY " + json.dumps({"whep_url": f"http://127.0.0.1:{port}/whep", "token": "-"}), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                connected = sum(1 for pc in list(pcs) if pc.connectionState == "connected")
                print("STATS " + json.dumps({"sessions": len(pcs), "connected": connected}), flush=True)
            elif command == "quit":
                break
    finally:
        server.should_exit = True
        thread.join(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
