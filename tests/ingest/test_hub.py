import asyncio
import threading
from fractions import Fraction

import pytest

from ingest.description import StreamDescription, VideoTrack
from ingest.hub import StreamHub
from ingest.packet import ClockSource, GapReason, MediaKind, MediaPacket, StreamGap
from ingest.subscription import DeliveryMode, HubItem, SubscriptionClosed

GOP = 10
TB = Fraction(1, 90000)


def video_track() -> VideoTrack:
    return VideoTrack("h264", 320, 240, TB, b"", codec_template=b"")


def frame(index: int, epoch: int, size: int = 1000) -> MediaPacket:
    return MediaPacket(
        kind=MediaKind.VIDEO,
        data=bytes([index % 256]) * size,
        pts=index * 3600,
        dts=index * 3600,
        duration=3600,
        time_base=TB,
        is_keyframe=index % GOP == 0,
        wall_time=1_700_000_000 + index / 25,
        clock_source=ClockSource.ARRIVAL,
        epoch=epoch,
    )


def drain(subscription_items: list[HubItem]) -> list[MediaPacket]:
    return [item for item in subscription_items if isinstance(item, MediaPacket)]


def test_lossless_gets_every_packet_while_slow_lossy_skips_to_keyframes() -> None:
    hub = StreamHub("cam")
    recorder = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    viewer = hub.subscribe("viewer", DeliveryMode.LOSSY, max_packets=15)
    epoch = hub.begin_epoch(video_track()).epoch
    for index in range(101):  # nobody reads meanwhile: the viewer falls behind
        hub.publish(frame(index, epoch))
    hub.close()

    recorded = list(recorder)
    assert isinstance(recorded[0], StreamDescription)
    assert [packet.pts for packet in drain(recorded)] == [index * 3600 for index in range(101)]

    viewed = list(viewer)
    gaps = [item for item in viewed if isinstance(item, StreamGap)]
    assert gaps and all(gap.reason is GapReason.OVERFLOW for gap in gaps)
    for position, item in enumerate(viewed[:-1]):
        if isinstance(item, StreamGap):
            following = viewed[position + 1]
            assert isinstance(following, MediaPacket) and following.is_keyframe
    assert len(drain(viewed)) < 100
    assert drain(viewed)[-1].pts == 100 * 3600  # the viewer ends up live


def test_lossless_overflow_drops_with_a_gap_marker_and_never_blocks() -> None:
    hub = StreamHub("cam")
    recorder = hub.subscribe("recorder", DeliveryMode.LOSSLESS, max_bytes=25_000)
    epoch = hub.begin_epoch(video_track()).epoch
    for index in range(60):
        hub.publish(frame(index, epoch))
    first_batch = [recorder.get(timeout=1) for _ in range(26)]  # description + 25 packets
    assert [packet.pts for packet in drain(first_batch)] == [index * 3600 for index in range(25)]
    for index in range(60, 75):
        hub.publish(frame(index, epoch))
    hub.close()
    rest = list(recorder)
    gap = rest[0]
    assert isinstance(gap, StreamGap) and gap.reason is GapReason.OVERFLOW
    assert gap.dropped_packets == 35 and gap.wall_time == frame(25, epoch).wall_time
    resumed = drain(rest)
    assert resumed[0].is_keyframe and resumed[0].pts == 60 * 3600
    assert len(resumed) == 15
    assert recorder.stats().dropped_packets == 35


def test_new_subscriber_starts_at_the_current_gop() -> None:
    hub = StreamHub("cam")
    description = hub.begin_epoch(video_track())
    for index in range(3, 25):  # starts mid-GOP: frames before the first keyframe are not passed on
        hub.publish(frame(index, description.epoch))
    late = hub.subscribe("late viewer")
    hub.close()
    items = list(late)
    assert items[0] == description
    packets = drain(items)
    assert packets[0].is_keyframe and packets[0].pts == 20 * 3600
    assert len(packets) == 5


def test_reconnect_sends_gap_then_new_description_and_drops_old_epoch_packets() -> None:
    hub = StreamHub("cam")
    recorder = hub.subscribe("recorder", DeliveryMode.LOSSLESS)
    first = hub.begin_epoch(video_track())
    hub.publish(frame(0, first.epoch))
    hub.end_epoch("camera restarted")
    second = hub.begin_epoch(video_track())
    hub.publish(frame(1, first.epoch))  # a straggler of the old connection
    hub.publish(frame(10, second.epoch))
    hub.close()
    items = list(recorder)
    kinds = [type(item).__name__ for item in items]
    assert kinds == ["StreamDescription", "MediaPacket", "StreamGap", "StreamDescription", "MediaPacket"]
    gap = items[2]
    assert isinstance(gap, StreamGap) and gap.reason is GapReason.SOURCE_LOST
    assert second.epoch == first.epoch + 1
    assert hub.description == second


def test_subscriber_while_offline_gets_description_and_gap() -> None:
    hub = StreamHub("cam")
    description = hub.begin_epoch(video_track())
    hub.end_epoch()
    subscription = hub.subscribe("ui")
    assert subscription.get(timeout=1) == description
    assert isinstance(subscription.get(timeout=1), StreamGap)
    with pytest.raises(TimeoutError):
        subscription.get(timeout=0.05)


async def test_async_reader_receives_packets_published_from_a_thread() -> None:
    hub = StreamHub("cam")
    viewer = hub.subscribe("viewer")
    epoch = hub.begin_epoch(video_track()).epoch

    def camera() -> None:
        for index in range(30):
            hub.publish(frame(index, epoch))
        hub.close()

    threading.Thread(target=camera).start()
    received = [item async for item in viewer]
    assert len(drain(received)) == 30
    with pytest.raises(SubscriptionClosed):
        await asyncio.wait_for(viewer.get_async(), 1)


def test_closed_subscription_stops_receiving() -> None:
    hub = StreamHub("cam")
    subscription = hub.subscribe("viewer")
    subscription.close()
    epoch = hub.begin_epoch(video_track()).epoch
    hub.publish(frame(0, epoch))
    assert list(subscription) == []
    assert hub.subscription_stats() == []
