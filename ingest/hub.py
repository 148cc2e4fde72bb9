"""StreamHub: fans one camera stream's packets out to its subscribers (recorder, live viewers, analytics)."""

from __future__ import annotations

import threading
import time

from ingest.description import AudioTrack, StreamDescription, VideoTrack
from ingest.packet import GapReason, MediaKind, MediaPacket, StreamGap
from ingest.subscription import DeliveryMode, Subscription, SubscriptionStats

LOSSLESS_MAX_BYTES = 64 * 1024 * 1024
LOSSY_MAX_BYTES = 8 * 1024 * 1024
LOSSY_MAX_PACKETS = 500
GOP_CACHE_MAX_BYTES = 32 * 1024 * 1024


class StreamHub:
    """One per camera stream. The source publishes from its thread; subscribers read at their own pace.

    Publishing never blocks on a subscriber. The hub keeps the current GOP (packets since the last video
    keyframe), so a new subscriber starts at a keyframe at once, after the current StreamDescription.
    Within an epoch, video packets published before the first keyframe are not passed on.
    """

    def __init__(self, name: str, gop_cache_max_bytes: int = GOP_CACHE_MAX_BYTES) -> None:
        self.name = name
        self._gop_cache_max_bytes = gop_cache_max_bytes
        self._lock = threading.Lock()
        self._subscriptions: list[Subscription] = []
        self._description: StreamDescription | None = None
        self._live = False
        self._awaiting_keyframe = True
        self._gop: list[MediaPacket] = []
        self._gop_bytes = 0
        self._last_packet_end: float | None = None
        self._closed = False

    # ---- subscriber side -----------------------------------------------------------------------------

    def subscribe(
        self,
        name: str,
        mode: DeliveryMode = DeliveryMode.LOSSY,
        max_bytes: int | None = None,
        max_packets: int | None = None,
    ) -> Subscription:
        """Start receiving: the current description and GOP first (if the camera is live), then live packets.

        Defaults: LOSSLESS queues up to 64 MiB with no packet limit; LOSSY up to 8 MiB or 500 packets.
        """
        lossless = mode is DeliveryMode.LOSSLESS
        subscription = Subscription(
            name=name,
            mode=mode,
            max_bytes=max_bytes or (LOSSLESS_MAX_BYTES if lossless else LOSSY_MAX_BYTES),
            max_packets=max_packets if max_packets is not None else (None if lossless else LOSSY_MAX_PACKETS),
            on_close=self._unsubscribe,
        )
        with self._lock:
            if self._closed:
                subscription._mark_closed()
                return subscription
            if self._description is not None:
                subscription._offer(self._description)
                if not self._live:
                    subscription._offer(self._source_lost_gap())
            for packet in self._gop:
                subscription._offer(packet)
            self._subscriptions.append(subscription)
        return subscription

    @property
    def description(self) -> StreamDescription | None:
        """The latest stream description; kept while the camera is offline."""
        return self._description

    @property
    def live(self) -> bool:
        """Whether a source is connected and publishing."""
        return self._live

    def subscription_stats(self) -> list[SubscriptionStats]:
        with self._lock:
            subscriptions = list(self._subscriptions)
        return [subscription.stats() for subscription in subscriptions]

    # ---- source side ---------------------------------------------------------------------------------

    def begin_epoch(
        self, video: VideoTrack, audio: AudioTrack | None = None, notes: tuple[str, ...] = ()
    ) -> StreamDescription:
        """Announce a new connection's tracks; returns the description whose ``epoch`` packets must carry."""
        with self._lock:
            epoch = 1 if self._description is None else self._description.epoch + 1
            description = StreamDescription(epoch=epoch, video=video, audio=audio, notes=notes)
            self._description = description
            self._live = True
            self._awaiting_keyframe = True
            self._clear_gop()
            for subscription in self._subscriptions:
                subscription._offer(description)
        return description

    def publish(self, packet: MediaPacket) -> None:
        """Hand one packet to every subscriber. Packets of an old epoch are ignored."""
        with self._lock:
            if not self._live or self._description is None or packet.epoch != self._description.epoch:
                return
            starts_gop = packet.kind is MediaKind.VIDEO and packet.is_keyframe
            if self._awaiting_keyframe:
                if not starts_gop:
                    return
                self._awaiting_keyframe = False
            self._remember(packet, starts_gop)
            time_base = packet.time_base
            self._last_packet_end = (
                packet.wall_time + packet.duration * time_base.numerator / time_base.denominator
            )
            for subscription in self._subscriptions:
                subscription._offer(packet)

    def end_epoch(self, message: str = "connection to the camera lost") -> None:
        """The source lost its camera: subscribers get a StreamGap(SOURCE_LOST)."""
        with self._lock:
            if not self._live:
                return
            self._live = False
            self._clear_gop()
            gap = self._source_lost_gap(message)
            for subscription in self._subscriptions:
                subscription._offer(gap)

    def close(self) -> None:
        """Close the hub: subscribers read what is queued, then get ``SubscriptionClosed``."""
        with self._lock:
            self._closed = True
            self._live = False
            subscriptions, self._subscriptions = self._subscriptions, []
            self._clear_gop()
        for subscription in subscriptions:
            subscription._mark_closed()

    # ---- internals ------------------------------------------------------------------------------------

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    def _remember(self, packet: MediaPacket, starts_gop: bool) -> None:
        if starts_gop:
            self._clear_gop()
        elif not self._gop:
            return  # the GOP outgrew the cache: wait for the next keyframe
        if self._gop_bytes + packet.size > self._gop_cache_max_bytes:
            self._clear_gop()
            return
        self._gop.append(packet)
        self._gop_bytes += packet.size

    def _clear_gop(self) -> None:
        self._gop = []
        self._gop_bytes = 0

    def _source_lost_gap(self, message: str = "camera offline") -> StreamGap:
        return StreamGap(
            reason=GapReason.SOURCE_LOST,
            wall_time=self._last_packet_end if self._last_packet_end is not None else time.time(),
            message=message,
        )
