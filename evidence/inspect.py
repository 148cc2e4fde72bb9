"""What an uploaded file is: a readable, complete video or photo, and the facts the evidence record keeps.

Videos are checked without decoding the whole file: every packet is read (demuxed) to the end, so a file cut
short is found even when its index says otherwise; only the first frame is decoded (for rotation and to prove
the codec is readable). Refusals raise :class:`~evidence.errors.Refused` with a reason a person can act on.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, tzinfo
from fractions import Fraction
from pathlib import Path
from typing import Any

from evidence.errors import Refused
from evidence.exif import JPEG_MAGIC, NotAJpeg, read_jpeg_info
from evidence.filenames import time_from_filename
from evidence.models import EvidenceKind, TimeSource

log = logging.getLogger("evidence.inspect")

# FFmpeg demuxer name -> content type; anything else is refused.
_CONTAINERS = {
    "mov,mp4,m4a,3gp,3g2,mj2": "video/mp4",
    "matroska,webm": "video/x-matroska",
    "avi": "video/x-msvideo",
    "mpegts": "video/mp2t",
}
# Containers whose index states each stream's exact frame count and where each frame lies in the file.
_INDEXED_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2"}
# Packets may end a little before the duration the container states (last frame duration, audio longer
# than video, rounding): up to a tenth of the duration, between 0.2 s and 1 s.
_END_TOLERANCE_MIN_S, _END_TOLERANCE_MAX_S = 0.2, 1.0
# Device clocks that were never set write times like 1904-01-01 or 1970-01-01.
_EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MediaInfo:
    """What inspection found; ``started_at`` is on the device's clock (no offset applied yet)."""

    kind: EvidenceKind
    content_type: str
    container: str
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    rotation: int = 0
    video_codec: str | None = None
    audio_codec: str | None = None
    started_at: datetime | None = None
    time_source: TimeSource = TimeSource.UPLOAD
    device_serial: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The ``media`` JSON stored on the item (times and the serial live in their own columns)."""
        out = asdict(self)
        for key in ("kind", "started_at", "time_source", "device_serial", "extra"):
            out.pop(key)
        out.update(self.extra)
        return out


def inspect_file(path: Path, filename: str, zone: tzinfo) -> MediaInfo:
    """Inspect the file at ``path`` (uploaded as ``filename``); Refused if it is not acceptable evidence."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise Refused(f"the uploaded file cannot be read: {exc.strerror}") from None
    if size == 0:
        raise Refused("the file is empty")
    if starts_like_jpeg(path):
        return _inspect_photo(path, filename, zone)
    return _inspect_video(path, filename, zone)


def starts_like_jpeg(path: Path) -> bool:
    """Whether the file begins as a JPEG does (inspection then takes it for a photo)."""
    with path.open("rb") as f:
        return f.read(3) == JPEG_MAGIC


def _inspect_photo(path: Path, filename: str, zone: tzinfo) -> MediaInfo:
    try:
        info = read_jpeg_info(path)
    except NotAJpeg as exc:
        raise Refused(f"not a usable photo: {exc}") from None
    started, source = None, TimeSource.UPLOAD
    if info.taken_at is not None:
        started = info.taken_at if info.taken_at.tzinfo else info.taken_at.replace(tzinfo=zone)
        source = TimeSource.EXIF
    elif (from_name := time_from_filename(filename, zone)) is not None:
        started, source = from_name, TimeSource.FILENAME
    return MediaInfo(
        kind=EvidenceKind.PHOTO,
        content_type="image/jpeg",
        container="jpeg",
        width=info.width,
        height=info.height,
        rotation=info.orientation,
        started_at=_utc(started),
        time_source=source,
        device_serial=info.serial,
        extra={"camera_model": info.model} if info.model else {},
    )


def _inspect_video(path: Path, filename: str, zone: tzinfo) -> MediaInfo:
    import av  # here, not at the top: PyAV and FFmpeg's libraries cost ~17 MB, an idle server needs neither
    import av.error

    try:
        container = av.open(str(path), metadata_errors="replace")
    except (av.error.FFmpegError, UnicodeDecodeError):
        raise Refused(
            "not a video or photo this system can read (or an MP4 whose index is missing because the "
            "recording was cut off)"
        ) from None
    with container:
        fmt = container.format.name
        if fmt not in _CONTAINERS or not container.streams.video:
            raise Refused(f"not a supported video: format '{fmt}' without a readable video stream")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = container.duration / 1_000_000 if container.duration else None
        if fmt in _INDEXED_CONTAINERS and _index_is_complete(container):
            rotation = _check_index(container, duration, path.stat().st_size)
        else:
            rotation = _check_packets(container, fmt, duration)
        tags = {**_tags(container.metadata), **_tags(video.metadata)}
        content_type = _CONTAINERS[fmt]
        if content_type == "video/mp4" and (
            filename.lower().endswith(".mov") or container.metadata.get("major_brand", "").strip() == "qt"
        ):
            content_type = "video/quicktime"
        started, source = _video_start(tags, filename, zone)
        rate = video.average_rate or video.guessed_rate
        return MediaInfo(
            kind=EvidenceKind.VIDEO,
            content_type=content_type,
            container=fmt,
            duration_s=round(duration, 3) if duration else None,
            width=video.codec_context.width or None,
            height=video.codec_context.height or None,
            fps=round(float(rate), 3) if isinstance(rate, Fraction) and rate > 0 else None,
            rotation=rotation if rotation is not None else _rotate_tag(tags),
            video_codec=video.codec_context.name,
            audio_codec=audio.codec_context.name if audio else None,
            started_at=started,
            time_source=source,
            device_serial=_serial(tags),
        )


def _index_is_complete(container: Any) -> bool:
    """Whether the index lists every frame of every stream (not so in a fragmented MP4, whose fragments are
    found while reading)."""
    return all(s.frames > 0 and len(s.index_entries) == s.frames for s in container.streams)


def _check_index(container: Any, duration: float | None, size: int) -> int | None:
    """Check an MP4/MOV by its index: every frame's bytes lie within the file and the video frames span
    the stated duration; Refused otherwise. Reading every packet would check no more (the demuxer takes
    the frames' bytes where the index says) and costs a pass over the file: 0.4 s for 2 GB.
    Returns the first frame's rotation, if it decodes."""
    video = container.streams.video[0]
    for stream in container.streams:
        end = max(entry.pos + entry.size for entry in stream.index_entries)
        if end > size:
            raise Refused(
                f"the video is truncated: the file has {size} bytes but the frames of stream "
                f"{stream.index} reach byte {end}"
            )
    entries = video.index_entries  # in time order (FFmpeg keeps its index sorted)
    count = len(entries)
    last = entries[count - 1].timestamp
    frame = last - entries[count - 2].timestamp if count > 1 else 0
    _check_end(container, duration, float((last + frame) * video.time_base))
    for packet in container.demux(video):
        if packet.size:
            return _first_frame_rotation(packet)
    raise Refused("the video contains no pictures")


def _check_end(container: Any, duration: float | None, video_end: float | None) -> None:
    """Refused when the video frames end well before the duration the container states."""
    start = float(container.start_time or 0) / 1_000_000
    tolerance = min(_END_TOLERANCE_MAX_S, max(_END_TOLERANCE_MIN_S, (duration or 0) / 10))
    if duration and video_end is not None and video_end - start < duration - tolerance:
        raise Refused(
            f"the video is truncated: it should last {duration:.1f} s but its pictures end at "
            f"{video_end - start:.1f} s"
        )


def _check_packets(container: Any, fmt: str, duration: float | None) -> int | None:
    """Read every packet; Refused if the file ends early. Returns the first frame's rotation, if decoded."""
    import av.error

    video = container.streams.video[0]
    counts: dict[int, int] = {}
    ends: dict[int, float] = {}
    rotation: int | None = None
    try:
        for packet in container.demux():
            if packet.size == 0:
                continue
            index = packet.stream.index
            counts[index] = counts.get(index, 0) + 1
            if packet.pts is not None and packet.time_base is not None:
                end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                ends[index] = max(ends.get(index, end), end)
            if rotation is None and index == video.index:
                rotation = _first_frame_rotation(packet)
    except av.error.FFmpegError as exc:
        raise Refused(f"the video is damaged: cannot be read to its end ({exc.strerror})") from None
    if counts.get(video.index, 0) == 0:
        raise Refused("the video contains no pictures")
    if fmt in _INDEXED_CONTAINERS:
        for stream in container.streams:
            if stream.frames and counts.get(stream.index, 0) < stream.frames:
                raise Refused(
                    f"the video is truncated: its index lists {stream.frames} frames of stream "
                    f"{stream.index} but the file holds only {counts.get(stream.index, 0)}"
                )
    _check_end(container, duration, ends.get(video.index))
    return rotation


def _first_frame_rotation(packet: Any) -> int | None:
    import av.error

    try:
        for frame in packet.decode():
            return int(round(frame.rotation)) % 360  # noqa: RUF046 - PyAV is untyped
    except av.error.FFmpegError:
        return None
    return None


def _tags(metadata: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in metadata.items() if isinstance(v, str)}


def _rotate_tag(tags: dict[str, str]) -> int:
    try:
        return int(tags.get("rotate", "0")) % 360
    except ValueError:
        return 0


def _serial(tags: dict[str, str]) -> str | None:
    for key, value in sorted(tags.items()):
        if "serial" in key and value.strip():
            return value.strip()[:100]
    return None


def _video_start(tags: dict[str, str], filename: str, zone: tzinfo) -> tuple[datetime | None, TimeSource]:
    tagged = _parse_creation_time(tags.get("creation_time"))
    if tagged is not None:
        return tagged, TimeSource.CONTAINER
    from_name = time_from_filename(filename, zone)
    if from_name is not None:
        return _utc(from_name), TimeSource.FILENAME
    return None, TimeSource.UPLOAD


def _parse_creation_time(value: str | None) -> datetime | None:
    """A container's creation_time (UTC by the MP4/Matroska specifications); None when unset or bogus."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC) if parsed >= _EARLIEST_PLAUSIBLE else None


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None
