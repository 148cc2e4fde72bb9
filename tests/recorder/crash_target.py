"""Run as ``python -m tests.recorder.crash_target SPOOL_DIR``: records a synthetic camera in real time into
a spool (5 s segments) and prints each frame's wall time, until killed."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

from ingest.hub import StreamHub
from ingest.subscription import DeliveryMode
from recorder.models import GapReason, StreamKind
from recorder.segment_files import SpooledSegment
from recorder.segment_writer import SegmentWriter
from recorder.spool import Spool
from tests.recorder.synthetic import SyntheticFeed, encoded_video


class _Quiet:
    def segment_finished(self, segment: SpooledSegment) -> None: ...

    def recording_interrupted(self, at: datetime, reason: GapReason, detail: str) -> None: ...

    def recording_resumed(self, at: datetime) -> None: ...


def main(spool_dir: Path, camera_id: int) -> None:
    video = encoded_video()
    hub = StreamHub("crash")
    sub = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    writer = SegmentWriter(
        camera_id=camera_id,
        camera_code="crashcam",
        stream=StreamKind.MAIN,
        spool=Spool(spool_dir, 1 << 30),
        events=_Quiet(),
        segment_seconds=5,
    )
    feed = SyntheticFeed(hub, video, time.time())
    feed.connect()
    started = time.monotonic()
    n = 0
    while True:
        feed.play(1 / video.fps)
        writer.handle(sub.get(timeout=0))  # description / packet
        while True:
            try:
                writer.handle(sub.get(timeout=0))
            except TimeoutError:
                break
        print(f"{feed.wall - 1 / video.fps:.3f}", flush=True)
        n += 1
        time.sleep(max(0.0, started + n / video.fps - time.monotonic()))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
