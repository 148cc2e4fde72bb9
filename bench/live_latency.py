"""Live view latency and time to first picture, measured in a real browser (issue 5, item 4 (a) and (c)).

    .venv/bin/python -m bench.live_latency [--views 6] [--seconds 10] [--background K] [--jitter-target-ms MS]
        [--json out.json]

One simulated camera loops the pre-encoded 1080p25 H.264 Main 4 Mbit/s sample (``sample_video()``, GOP 2 s)
over RTSP. Between it and yard-vms sits a tiny TCP relay in this process that timestamps every RTP packet
as it arrives from the camera (RTSP interleaved over TCP, as ``CameraSource`` reads it). yard-vms's live
node (CameraSource -> StreamHub -> WHEP / aiortc, H.264 passed through) runs in this process too; headless
Debian Chromium (Playwright) opens ``--views`` views one after the other, each for ``--seconds``, and
records ``requestVideoFrameCallback`` metadata for every frame it presents (``rtpTimestamp``,
``receiveTime``, ``presentationTime``). One machine, one clock: the browser's ``performance.timeOrigin``
plus its timestamps are compared with Python's ``time.time()`` (the offset between the two is measured and
corrected; it is reported).

Each presented frame is traced back through the chain, exactly (no guessing by timing):
browser ``rtpTimestamp`` -> minus the aiortc sender's random RTP origin -> the RTP time our track gave the
packet -> the hub packet (epoch, pts) -> the camera's RTP timestamp (offset fixed by matching keyframes) ->
the relay's arrival time of that frame's last RTP packet. Nothing is added to the server's hot path: the
benchmark wraps this node's ``hub.publish`` and substitutes a recording subclass of ``HubVideoTrack`` for
the duration of the run, in this process only.

(a) latency: camera frame's last packet at the server's socket -> the browser presenting the decoded frame
    (plus each leg: demux, hub -> sent, sent -> browser received, received -> presented). Frames of the
    catch-up burst (the cached GOP played fast at the start of a view) are left out: they are old by design.
(c) time to first picture: ``fetch(offer)`` start -> the first decoded frame's ``presentationTime``
    (also from ``createOffer``, which includes ICE gathering, as a user clicking a tile would wait).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import av

import viewer.webrtc.session as session_module
from bench.chromium import CHROMIUM, CHROMIUM_ARGS
from bench.live_capacity import LineProcess
from bench.live_node import BenchNode, start_camera, start_node
from bench.procstat import load_average, machine_description
from ingest.hub import StreamHub
from ingest.packet import MediaKind, MediaPacket
from ingest.subscription import Subscription
from viewer.webrtc.timeline import Timeline
from viewer.webrtc.track import HubVideoTrack

RTP_WRAP = 2**32
GOALS_MS = {"latency_median": 150.0, "first_frame_median": 1000.0}


# ---- the camera side: a relay that timestamps RTP packets as they arrive ---------------------------------


class InterleavedRtpClock:
    """Parses the camera -> client direction of an RTSP-over-TCP connection: RTSP responses and
    ``$``-framed RTP/RTCP. Records, per RTP timestamp of channel 0 (video), when the frame's last packet
    (marker bit) arrived, and which timestamps carried a keyframe (IDR or SPS)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.frame_arrivals: dict[int, float] = {}
        self.keyframes: set[int] = set()

    def feed(self, data: bytes, arrived: float) -> None:
        buffer = self._buffer
        buffer += data
        while buffer:
            if buffer[0] == 0x24:  # '$' channel length(2) packet
                if len(buffer) < 4:
                    return
                length = int.from_bytes(buffer[2:4], "big")
                if len(buffer) < 4 + length:
                    return
                if buffer[1] == 0 and length >= 12:
                    self._rtp(bytes(buffer[4 : 4 + length]), arrived)
                del buffer[: 4 + length]
            else:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                match = re.search(rb"content-length:\s*(\d+)", bytes(buffer[:end]), re.IGNORECASE)
                total = end + 4 + (int(match.group(1)) if match else 0)
                if len(buffer) < total:
                    return
                del buffer[:total]

    def _rtp(self, packet: bytes, arrived: float) -> None:
        timestamp = int.from_bytes(packet[4:8], "big")
        header = 12 + 4 * (packet[0] & 0x0F)
        if packet[0] & 0x10 and len(packet) >= header + 4:
            header += 4 + 4 * int.from_bytes(packet[header + 2 : header + 4], "big")
        if len(packet) > header + 1:
            nal = packet[header] & 0x1F
            inner = packet[header + 1] & 0x1F
            if nal in (5, 7) or (nal == 24 and inner == 7) or (nal == 28 and inner == 5):
                self.keyframes.add(timestamp)
        if packet[1] & 0x80:
            self.frame_arrivals.setdefault(timestamp, arrived)


class TimestampingRelay:
    """127.0.0.1 TCP relay to the camera: forwards bytes both ways at once, parses the camera's side after
    forwarding (so it adds no latency beyond one recv/send). Stops when closed."""

    def __init__(self, camera_port: int) -> None:
        self.clock = InterleavedRtpClock()
        self._camera_port = camera_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True, name="relay-accept").start()

    def close(self) -> None:
        self._closing.set()
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            camera = socket.create_connection(("127.0.0.1", self._camera_port))
            for sock in (client, camera):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets += [client, camera]
            threading.Thread(target=self._pump, args=(client, camera, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(camera, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, from_camera: bool) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = source.recv(262144)
                arrived = time.time()
                if not data:
                    break
                target.sendall(data)
                if from_camera:
                    self.clock.feed(data, arrived)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


# ---- the server side: where each packet was, and when ------------------------------------------------------


@dataclass
class HubRecord:
    arrivals: dict[tuple[int, int], float] = field(default_factory=dict)
    """(epoch, pts) -> time.time() when CameraSource handed the video packet to the hub."""
    keyframes: set[tuple[int, int]] = field(default_factory=set)


def record_hub(hub: StreamHub) -> HubRecord:
    """Wrap this hub's ``publish`` (instance attribute: CameraSource calls ``self.hub.publish``)."""
    record = HubRecord()
    publish = hub.publish

    def recording_publish(packet: MediaPacket) -> None:
        if packet.kind is MediaKind.VIDEO and packet.pts is not None:
            key = (packet.epoch, packet.pts)
            record.arrivals[key] = time.time()
            if packet.is_keyframe:
                record.keyframes.add(key)
        publish(packet)

    hub.publish = recording_publish  # type: ignore[method-assign]
    return record


@dataclass(frozen=True, slots=True)
class SentFrame:
    epoch: int
    pts: int
    sent_at: float
    catch_up: bool


class RecordingTrack(HubVideoTrack):
    """``HubVideoTrack`` that remembers, per RTP time it gave a packet, the hub packet and when it left;
    and learns the aiortc sender's random RTP timestamp origin once ``sender`` is set."""

    created: ClassVar[list[RecordingTrack]] = []

    def __init__(self, subscription: Subscription, timeline: Timeline | None = None) -> None:
        self.sent: dict[int, SentFrame] = {}
        self.sender: Any = None
        self.origins: set[int] = set()
        self._last_rtp: int | None = None
        super().__init__(subscription, timeline)
        RecordingTrack.created.append(self)

    async def recv(self) -> av.Packet[Any]:
        # aiortc's sender sends every RTP packet of the previous frame before it asks for the next one.
        if self.sender is not None and self._last_rtp is not None and len(self.origins) < 4:
            last = getattr(self.sender, "_RTCRtpSender__rtp_timestamp", 0)
            if last:
                self.origins.add((last - self._last_rtp) % RTP_WRAP)
        packet = await super().recv()
        self._last_rtp = packet.pts
        return packet

    async def _to_av_packet(self, item: MediaPacket) -> av.Packet[Any] | None:
        catch_up = self._timeline.catching_up
        packet = await super()._to_av_packet(item)
        if packet is not None and packet.pts is not None and item.pts is not None:
            self.sent[packet.pts % RTP_WRAP] = SentFrame(item.epoch, item.pts, time.time(), catch_up)
        return packet


@contextlib.contextmanager
def recording_tracks() -> Iterator[None]:
    """Sessions opened meanwhile (in this process) use :class:`RecordingTrack`."""
    original = HubVideoTrack
    setattr(session_module, "HubVideoTrack", RecordingTrack)  # noqa: B010 - a patch, not an attribute
    RecordingTrack.created.clear()
    try:
        yield
    finally:
        setattr(session_module, "HubVideoTrack", original)  # noqa: B010


def camera_offset(hub: HubRecord, camera: InterleavedRtpClock) -> int | None:
    """camera RTP timestamp = (hub pts + offset) mod 2^32 for the hub's epoch. Keyframes (every GOP) pin
    the offset down to a multiple of the GOP; of those, the one with the smallest non-negative median
    camera -> hub delay is right (a wrong one is off by whole GOPs, i.e. seconds)."""
    hub_keys = sorted(hub.keyframes)
    if not hub_keys or not camera.keyframes:
        return None
    epoch = hub_keys[-1][0]
    pts_keys = [pts for e, pts in hub_keys if e == epoch]
    camera_keys = list(camera.keyframes)  # a copy: the camera goes on recording while this runs
    votes = Counter((c - p) % RTP_WRAP for p in pts_keys[-20:] for c in camera_keys)
    best: tuple[float, int] | None = None
    top = votes.most_common(1)[0][1]
    # Snapshots: the camera and the hub go on recording while this runs.
    hub_arrivals, frame_arrivals = dict(hub.arrivals), dict(camera.frame_arrivals)
    for offset, count in votes.most_common(50):
        if count < max(2, top * 0.8):
            break
        delays = [
            arrival - frame_arrivals[(pts + offset) % RTP_WRAP]
            for (e, pts), arrival in hub_arrivals.items()
            if e == epoch and (pts + offset) % RTP_WRAP in frame_arrivals
        ]
        if not delays:
            continue
        median = statistics.median(delays)
        if median >= -0.005 and (best is None or median < best[0]):
            best = (median, offset)
    return None if best is None else best[1]


# ---- the browser side -----------------------------------------------------------------------------------

OPEN_VIEW_JS = """
async ({url, token, index, jitterTarget}) => {
  const view = {index, frames: [], t: {}};
  (window.views ||= [])[index] = view;
  view.t.offer = performance.now();
  const pc = new RTCPeerConnection();
  view.pc = pc;
  const transceiver = pc.addTransceiver('video', {direction: 'recvonly'});
  if (jitterTarget !== null) transceiver.receiver.jitterBufferTarget = jitterTarget;
  const video = document.createElement('video');
  video.muted = true; video.autoplay = true; video.playsInline = true; video.width = 480; video.height = 270;
  document.body.appendChild(video);
  view.video = video;
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState === 'connected' && view.t.connected === undefined) {
      view.t.connected = performance.now();
    }
  });
  pc.ontrack = (event) => { video.srcObject = new MediaStream([event.track]); };
  const onFrame = (now, m) => {
    if (view.closed) return;
    if (view.t.first === undefined) { view.t.first = m.presentationTime; view.t.first_callback = now; }
    view.frames.push([m.rtpTimestamp ?? null, m.receiveTime ?? null, m.presentationTime ?? null,
                      m.expectedDisplayTime ?? null, m.processingDuration ?? null]);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    setTimeout(resolve, 3000);
  });
  view.t.fetch = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: {'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + token},
    body: pc.localDescription.sdp,
  });
  const body = await response.text();
  view.t.answer = performance.now();
  if (response.status !== 201) return {status: response.status, body};
  view.location = response.headers.get('Location');
  await pc.setRemoteDescription({type: 'answer', sdp: body});
  const deadline = performance.now() + 15000;
  while (view.t.first === undefined && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return {status: 201, location: view.location, t: view.t};
}
"""

CLOSE_VIEW_JS = """
async ({index, token}) => {
  const view = window.views[index];
  view.closed = true;
  view.pc.close();
  view.video.remove();
  const status = (await fetch(view.location, {method: 'DELETE',
    headers: {'Authorization': 'Bearer ' + token}})).status;
  return {frames: view.frames, t: view.t, timeOrigin: performance.timeOrigin, status};
}
"""

NOW_JS = "() => performance.timeOrigin + performance.now()"


def clock_offset_ms(page: Any, tries: int = 15) -> tuple[float, float]:
    """(browser epoch ms - Python epoch ms, uncertainty ms): the sample with the shortest round trip."""
    best: tuple[float, float] | None = None
    for _ in range(tries):
        before = time.time() * 1000
        browser = float(page.evaluate(NOW_JS))
        after = time.time() * 1000
        sample = (browser - (before + after) / 2, (after - before) / 2)
        if best is None or sample[1] < best[1]:
            best = sample
    assert best is not None
    return best


# ---- the run --------------------------------------------------------------------------------------------


@dataclass
class LatencyConfig:
    views: int = 6
    seconds_per_view: float = 10.0
    sample_file: Path | None = None
    """Looped by the camera; default ``sample_video()`` (1080p25 H.264 Main 4 Mbit/s, GOP 2 s)."""
    workdir: Path | None = None
    jitter_target_ms: float | None = None
    """Set the browser receiver's ``jitterBufferTarget`` (None: the browser's default)."""
    background_views: int = 0
    """Views kept open meanwhile by a receiver process (``bench.live_receiver``: no decoding)."""


def run_latency(config: LatencyConfig) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"no Chromium at {CHROMIUM}")
    started = dt.datetime.now(dt.UTC)
    load_before = load_average()
    workdir = Path(config.workdir or tempfile.mkdtemp(prefix="live-latency-"))
    home = tempfile.mkdtemp(prefix="live-latency-chromium-")
    camera = start_camera(config.sample_file)
    relay = TimestampingRelay(camera.port)
    node: BenchNode | None = None
    views: list[dict[str, Any]] = []
    offsets: list[tuple[float, float]] = []
    background: LineProcess | None = None
    try:
        with recording_tracks():
            node = start_node(f"rtsp://127.0.0.1:{relay.port}/bench", workdir)
            hub_record = record_hub(node.hub)
            if config.background_views:
                background = LineProcess(
                    ["-m", "bench.live_receiver", node.whep_url(), node.token], "rx", workdir
                )
                background.send(f"open {config.background_views}")
                opened = background.expect("OPENED", timeout=60 + 2 * config.background_views)
                if opened["failed"]:
                    raise RuntimeError(f"{opened['failed']} background views failed to open")
            time.sleep(2.5)  # a full GOP in the hub with arrival times
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM,
                    headless=True,
                    args=CHROMIUM_ARGS,
                    env={**os.environ, "HOME": home},
                )
                try:
                    page = browser.new_page(viewport={"width": 1280, "height": 800})
                    page.goto(f"{node.base_url}/api/health")
                    offsets.append(clock_offset_ms(page))
                    for index in range(config.views):
                        views.append(_one_view(page, node, index, config))
                    offsets.append(clock_offset_ms(page))
                finally:
                    browser.close()
        analysis = _analyse(views, hub_record, relay.clock, offsets)
    finally:
        if background is not None:
            background.close()
        if node is not None:
            node.close()
        relay.close()
        camera.close()
        shutil.rmtree(home, ignore_errors=True)
        if config.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return {
        "benchmark": "live_latency",
        "date": started.isoformat(timespec="seconds"),
        "machine": machine_description(),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in load_average()],
        "config": {
            "views": config.views,
            "seconds_per_view": config.seconds_per_view,
            "jitter_target_ms": config.jitter_target_ms,
            "background_views": config.background_views,
        },
        "clock_offset_ms": [{"offset": round(o, 3), "uncertainty": round(u, 3)} for o, u in offsets],
        **analysis,
    }


def _one_view(page: Any, node: BenchNode, index: int, config: LatencyConfig) -> dict[str, Any]:
    tracks_before = len(RecordingTrack.created)
    arguments = {
        "url": node.whep_url(),
        "token": node.token,
        "index": index,
        "jitterTarget": config.jitter_target_ms,
    }
    opened: dict[str, Any] = page.evaluate(OPEN_VIEW_JS, arguments)
    if opened["status"] != 201:
        raise RuntimeError(f"view {index}: WHEP answered {opened['status']}: {opened.get('body')}")
    track = RecordingTrack.created[tracks_before]
    session = next(s for s in node.registry.sessions() if s.track is track)
    track.sender = next(sender for sender in session.pc.getSenders() if sender.track is track)
    time.sleep(config.seconds_per_view)
    closed: dict[str, Any] = page.evaluate(CLOSE_VIEW_JS, {"index": index, "token": node.token})
    return {"t": closed["t"], "frames": closed["frames"], "time_origin": closed["timeOrigin"], "track": track}


def _analyse(
    views: list[dict[str, Any]],
    hub: HubRecord,
    camera: InterleavedRtpClock,
    offsets: list[tuple[float, float]],
) -> dict[str, Any]:
    clock_offset = statistics.fmean(o for o, _ in offsets) if offsets else 0.0
    cam_offset = camera_offset(hub, camera)
    legs: dict[str, list[float]] = {
        "camera_to_presented": [],
        "hub_to_presented": [],
        "camera_to_hub": [],
        "hub_to_sent": [],
        "sent_to_received": [],
        "received_to_presented": [],
        "decode": [],
    }
    first_frame: list[float] = []
    first_frame_from_offer: list[float] = []
    per_view: list[dict[str, Any]] = []
    traced = catch_up = untraced = 0
    origin_problems = 0
    for view in views:
        track: RecordingTrack = view["track"]
        if len(track.origins) != 1:
            origin_problems += 1
            untraced += len(view["frames"])
            continue
        origin = next(iter(track.origins))
        t = view["t"]
        if t.get("first") is not None:
            first_frame.append(t["first"] - t["fetch"])
            first_frame_from_offer.append(t["first"] - t["offer"])
        view_latency: list[float] = []
        for rtp, received, presented, _expected, processing in view["frames"]:
            sent = track.sent.get((int(rtp) - origin) % RTP_WRAP) if rtp is not None else None
            if sent is None or presented is None:
                untraced += 1
                continue
            if sent.catch_up:
                catch_up += 1
                continue
            arrived_hub = hub.arrivals.get((sent.epoch, sent.pts))
            if arrived_hub is None:
                untraced += 1
                continue
            traced += 1
            to_epoch_s = (view["time_origin"] - clock_offset) / 1000

            def at(ms: float, base: float = to_epoch_s) -> float:
                return base + ms / 1000

            presented_at = at(presented)
            legs["hub_to_presented"].append(presented_at - arrived_hub)
            legs["hub_to_sent"].append(sent.sent_at - arrived_hub)
            if received is not None:
                legs["sent_to_received"].append(at(received) - sent.sent_at)
                legs["received_to_presented"].append(presented_at - at(received))
            if processing is not None:
                legs["decode"].append(float(processing))  # seconds, unlike the other fields (ms)
            if cam_offset is not None:
                arrived_camera = camera.frame_arrivals.get((sent.pts + cam_offset) % RTP_WRAP)
                if arrived_camera is not None:
                    legs["camera_to_hub"].append(arrived_hub - arrived_camera)
                    legs["camera_to_presented"].append(presented_at - arrived_camera)
                    view_latency.append(presented_at - arrived_camera)
        per_view.append(
            {
                "frames_presented": len(view["frames"]),
                "first_frame_ms": _r(t["first"] - t["fetch"]) if t.get("first") is not None else None,
                "answer_ms": _r(t["answer"] - t["fetch"]),
                "connected_ms": _r(t["connected"] - t["fetch"]) if t.get("connected") is not None else None,
                "ice_gathering_ms": _r(t["fetch"] - t["offer"]),
                "latency_median_ms": _r(statistics.median(view_latency) * 1000) if view_latency else None,
            }
        )
    return {
        "frames": {"traced": traced, "catch_up_left_out": catch_up, "untraced": untraced},
        "views_without_rtp_origin": origin_problems,
        "camera_offset_found": cam_offset is not None,
        "latency_ms": {name: _summary([v * 1000 for v in values]) for name, values in legs.items()},
        "first_frame_ms": _summary(first_frame),
        "first_frame_from_offer_ms": _summary(first_frame_from_offer),
        "views": per_view,
    }


def _r(value: float) -> float:
    return round(value, 1)


def _summary(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "median": None, "p95": None, "min": None, "max": None}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "median": _r(statistics.median(ordered)),
        "p95": _r(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]),
        "min": _r(ordered[0]),
        "max": _r(ordered[-1]),
    }


def markdown_table(report: dict[str, Any]) -> str:
    rows = [
        ("camera packet at the server -> browser presents the decoded frame", "camera_to_presented"),
        ("  camera socket -> hub (RTSP client, CameraSource)", "camera_to_hub"),
        ("  hub -> handed to aiortc (queue, timeline)", "hub_to_sent"),
        ("  handed to aiortc -> browser received the frame's last packet", "sent_to_received"),
        ("  browser received -> presented (jitter buffer, decode)", "received_to_presented"),
        ("  of which decode (processingDuration)", "decode"),
    ]
    lines = ["| leg (ms) | median | p95 | min | max | frames |", "|---|---:|---:|---:|---:|---:|"]
    for label, key in rows:
        s = report["latency_ms"][key]
        lines.append(f"| {label} | {s['median']} | {s['p95']} | {s['min']} | {s['max']} | {s['n']} |")
    for label, key in (
        ("time to first picture: fetch(offer) -> first frame presented", "first_frame_ms"),
        ("time to first picture: createOffer -> first frame presented", "first_frame_from_offer_ms"),
    ):
        s = report[key]
        lines.append(f"| {label} | {s['median']} | {s['p95']} | {s['min']} | {s['max']} | {s['n']} views |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--views", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each view stays open")
    parser.add_argument("--sample", type=Path, default=None, help="Annex-B H.264 file the camera loops")
    parser.add_argument("--jitter-target-ms", type=float, default=None, help="browser jitterBufferTarget")
    parser.add_argument("--background", type=int, default=0, help="views kept open by a receiver process")
    parser.add_argument("--json", type=Path, default=None, help="also write the full report here")
    args = parser.parse_args(argv)
    config = LatencyConfig(
        views=args.views,
        seconds_per_view=args.seconds,
        sample_file=args.sample,
        jitter_target_ms=args.jitter_target_ms,
        background_views=args.background,
    )
    report = run_latency(config)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "views"}, indent=2))
    print(markdown_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
