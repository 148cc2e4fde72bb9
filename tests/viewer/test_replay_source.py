"""The replay reader on real recorded segments in SeaweedFS (no WebRTC): from a time T it delivers the
keyframe at or before T up to the frame recorded at T, then every later frame across segment boundaries,
skips recording gaps without inventing frames, reads with ranged GETs, and plays body-cam files with
B-frames; commands and the clock behave as documented."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from pathlib import Path

import av
import pytest

from recorder.segment_files import SpooledSegment
from tests.viewer.replay_client import in_own_loop
from tests.viewer.replay_fixtures import (
    FPS,
    GOP,
    T0,
    ReplayNodeFactory,
    bodycam_file,
    frame_time,
    read_number,
    recorded_cameras,
    replay_node_factory,
)
from viewer.replay.clock import PlaybackClock
from viewer.replay.control import BadCommand, parse_command
from viewer.replay.media import Frame
from viewer.replay.source import CameraSource, Delivery, ItemSource, MediaFile, epoch

__all__ = ["recorded_cameras", "replay_node_factory"]


def decode_numbers(deliveries: list[Delivery]) -> list[int]:
    """Decode the delivered Annex-B frames in order, as a browser would; the number each picture shows."""
    codec = av.CodecContext.create("h264", "r")
    numbers = []
    for delivery in deliveries:
        for frame in codec.decode(av.Packet(delivery.frame.data)):
            numbers.append(read_number(frame))
    for frame in codec.decode(None):
        numbers.append(read_number(frame))
    return numbers


def take(source: CameraSource, t: float, count: int, *, keyframes_only: bool = False) -> list[Delivery]:
    out = []
    for delivery in source.deliveries(t, keyframes_only=keyframes_only):
        out.append(delivery)
        if len(out) == count:
            break
    return out


def test_deliveries_start_at_the_keyframe_before_t_and_the_anchor_is_the_frame_recorded_at_t(
    replay_node_factory: ReplayNodeFactory, recorded_cameras: dict[str, list[SpooledSegment]]
) -> None:
    node = replay_node_factory()
    camera_id = node.add_camera("yard-a", recorded_cameras["yard-a"])
    assert node.core.store is not None
    source = CameraSource(node.core.store, node.core.db, camera_id)

    t = epoch(T0 + timedelta(seconds=12.35))  # inside frame 308 (12.32 .. 12.36 s)
    deliveries = take(source, t, 40)
    catch_up = [d for d in deliveries if d.catch_up]
    anchors = [i for i, d in enumerate(deliveries) if d.anchor]
    assert anchors == [len(catch_up)]  # catch-up frames first, then exactly one anchor
    assert deliveries[0].frame.keyframe and deliveries[0].catch_up
    numbers = decode_numbers(deliveries)
    assert numbers[: len(catch_up) + 1] == list(range(300, 309))  # keyframe 300 (12.0 s) .. frame 308
    assert numbers[len(catch_up)] == 308
    assert deliveries[len(catch_up)].frame.at == pytest.approx(epoch(frame_time(308)), abs=1e-3)
    # after the anchor: every following frame, in order
    assert numbers[len(catch_up) :] == list(range(308, 308 + len(numbers) - len(catch_up)))

    # across a segment boundary (10 s = frame 250), reading on into the next segment
    boundary = take(source, epoch(T0 + timedelta(seconds=9.9)), 40)  # frame 247; keyframe 225
    assert decode_numbers(boundary) == list(range(225, 265))
    assert [d.anchor for d in boundary].index(True) == 247 - 225


def test_a_recording_gap_is_skipped_without_frames_and_keyframes_only_mode(
    replay_node_factory: ReplayNodeFactory, recorded_cameras: dict[str, list[SpooledSegment]]
) -> None:
    node = replay_node_factory()
    camera_id = node.add_camera("yard-a", recorded_cameras["yard-a"])
    assert node.core.store is not None
    source = CameraSource(node.core.store, node.core.db, camera_id)

    deliveries = take(source, epoch(T0 + timedelta(seconds=39.5)), 40)  # keyframe 975, frame 987
    numbers = decode_numbers(deliveries)
    # every frame up to the gap at 40 s, then straight on at 50 s: no frame repeated, none invented
    assert numbers == [*range(975, 40 * FPS), *range(50 * FPS, 50 * FPS + 15)]
    gap_start = source.spans.at(epoch(T0 + timedelta(seconds=39)))
    following = source.spans.next_after(epoch(T0 + timedelta(seconds=45)))
    assert gap_start is not None and following is not None
    assert source.spans.at(epoch(T0 + timedelta(seconds=45))) is None
    assert following.start == pytest.approx(epoch(T0 + timedelta(seconds=50)), abs=0.05)

    # inside the gap: nothing to catch up, the first frame is the first one after the gap
    in_gap = take(source, epoch(T0 + timedelta(seconds=45)), 3)
    assert not any(d.catch_up or d.anchor for d in in_gap)
    assert decode_numbers(in_gap)[0] == 50 * FPS

    keyframes = take(source, epoch(T0 + timedelta(seconds=3.5)), 6, keyframes_only=True)
    assert all(d.frame.keyframe for d in keyframes)
    assert decode_numbers(keyframes) == [3 * GOP, 4 * GOP, 5 * GOP, 6 * GOP, 7 * GOP, 8 * GOP]
    assert keyframes[0].anchor  # the keyframe at or before T is shown at T

    # beyond the last recording: nothing
    assert take(source, epoch(T0 + timedelta(seconds=75)), 1) == []
    assert source.spans.exhausted


def test_a_bodycam_file_with_b_frames_is_read_with_ranged_gets(
    replay_node_factory: ReplayNodeFactory, tmp_path: Path
) -> None:
    node = replay_node_factory()
    path = bodycam_file(tmp_path / "bodycam.mp4", "h264", seconds=20)
    start = T0 + timedelta(seconds=20)
    item_id = node.add_item("bodycam.mp4", path, start)
    assert node.core.store is not None
    size = path.stat().st_size
    source = ItemSource(
        node.core.store,
        MediaFile(node.bucket, "evidence/bodycam.mp4", size, epoch(start), epoch(start) + 20, "h264"),
    )
    t = epoch(start) + 15.5  # past SEEK_INSIDE_FILE_AFTER_S: the container seeks
    deliveries = []
    for delivery in source.deliveries(t):
        deliveries.append(delivery)
        if len(deliveries) > 40:
            break
    anchor = next(d for d in deliveries if d.anchor)
    assert deliveries[0].frame.keyframe
    assert anchor.frame.send_at <= t < anchor.frame.send_at + anchor.frame.duration + 1e-6
    assert all(a.frame.send_at <= b.frame.send_at for a, b in itertools.pairwise(deliveries))
    assert any(d.frame.at != d.frame.send_at for d in deliveries)  # B-frames: presentation != decode order
    codec = av.CodecContext.create("h264", "r")
    decoded = sum(len(codec.decode(av.Packet(d.frame.data))) for d in deliveries)
    assert decoded >= len(deliveries) - 4
    assert item_id > 0


def test_commands_are_parsed_strictly() -> None:
    assert parse_command('{"cmd":"seek","t":"2026-03-01T08:30:05+08:00","seq":3}').seq == 3
    assert parse_command('{"cmd":"speed","rate":0.5}').rate == 0.5
    assert parse_command('{"cmd":"step","frames":-1}').frames == -1
    for bad in (
        "play",
        '{"cmd":"jump"}',
        '{"cmd":"seek","t":"2026-03-01T08:30:05"}',
        '{"cmd":"speed","rate":32}',
        '{"cmd":"step","frames":0}',
    ):
        with pytest.raises(BadCommand):
            parse_command(bad)


@in_own_loop
async def test_the_clock_holds_after_a_seek_and_runs_at_its_rate() -> None:
    now = [100.0]
    clock = PlaybackClock(1000.0, rate=2.0, monotonic=lambda: now[0])
    generation = clock.seek(1000.0)
    now[0] += 5
    assert clock.position() == 1000.0 and clock.holding
    clock.release(generation)
    now[0] += 1
    assert clock.position() == pytest.approx(1002.0)
    clock.pause()
    now[0] += 1
    assert clock.position() == pytest.approx(1002.0)
    clock.step_to(1002.04)
    assert clock.position() == pytest.approx(1002.04)
    assert not await asyncio.wait_for(_stale_wait(clock), 1)


async def _stale_wait(clock: PlaybackClock) -> bool:
    waiter = asyncio.ensure_future(clock.wait_reached(2000.0, clock.generation))
    await asyncio.sleep(0)
    clock.seek(1500.0)
    return await waiter


def test_frame_is_plain_data() -> None:
    frame = Frame(b"\x00\x00\x01\x65", 1.0, 1.0, 0.04, True)
    assert Delivery(frame).frame is frame
