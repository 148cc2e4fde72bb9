"""Which footage a replay lane plays, resolved from the request: a camera or a body-cam video item.

Resolving checks that the lane exists and may be seen by the caller (evidence items: the evidence
module's own access rule), builds the lane's :class:`LaneSource` and probes its codec (reading the first
file's header from object storage) so the session can negotiate each lane's H.264 profile.
Runs in a worker thread (database and storage calls block).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from evidence.errors import EvidenceError
from evidence.items import get_item
from evidence.models import EvidenceKind
from viewer.replay.media import MediaError
from viewer.replay.source import CameraSource, ItemSource, LaneSource, MediaFile, epoch
from viewer.webrtc.codecs import CODEC_LABELS, DEFAULT_PROFILE_LEVEL_ID, camera_profile_level_id
from vms.auth import Principal
from vms.context import CoreServices
from vms.db.models import Camera
from vms.storage import StorageError


class LaneRefused(Exception):
    """The lane cannot be replayed; ``status`` is the HTTP status that fits."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class LaneRequest:
    camera_id: int | None = None
    evidence_item_id: int | None = None


@dataclass(slots=True)
class ResolvedLane:
    id: str
    """``camera:<id>`` or ``evidence:<id>``: how commands and state messages name the lane."""
    kind: str
    """``camera`` or ``evidence``."""
    label: str
    source: LaneSource
    codec: str | None
    """The first file's codec from the start on (None: nothing recorded from the start on)."""
    profile_level_id: str
    camera_id: int | None = None
    camera_code: str | None = None
    evidence_item_id: int | None = None
    batch_id: int | None = None
    recorded_start: datetime | None = None
    recorded_end: datetime | None = None
    rotation: int = 0

    @property
    def playable(self) -> bool:
        return self.codec in (None, "h264")

    @property
    def unsupported_reason(self) -> str | None:
        if self.playable:
            return None
        label = CODEC_LABELS.get(self.codec or "", self.codec or "unknown")
        return f"{label} cannot be played in the browser; only H.264 footage can be replayed here"

    def audit_view(self) -> dict[str, Any]:
        if self.kind == "camera":
            return {"camera_id": self.camera_id, "camera_code": self.camera_code}
        return {"evidence_item_id": self.evidence_item_id, "batch_id": self.batch_id}


def resolve_lane(
    core: CoreServices, principal: Principal, request: LaneRequest, start: datetime
) -> ResolvedLane:
    if core.store is None:
        raise LaneRefused("object storage is not configured on this node", status=503)
    if request.camera_id is not None:
        lane = _camera_lane(core, request.camera_id, start)
    elif request.evidence_item_id is not None:
        lane = _item_lane(core, principal, request.evidence_item_id)
    else:
        raise LaneRefused("each lane needs a camera_id or an evidence_item_id")
    _probe(lane, epoch(start))
    return lane


def _camera_lane(core: CoreServices, camera_id: int, start: datetime) -> ResolvedLane:
    assert core.store is not None
    with core.db.sessions() as s:
        camera = s.scalar(select(Camera).where(Camera.id == camera_id))
        if camera is None:
            raise LaneRefused(f"camera {camera_id} not found", status=404)
        code, name = camera.code, camera.name
    source = CameraSource(core.store, core.db, camera_id)
    source.spans_around(epoch(start))
    return ResolvedLane(
        id=f"camera:{camera_id}",
        kind="camera",
        label=name or code,
        source=source,
        codec=None,
        profile_level_id=DEFAULT_PROFILE_LEVEL_ID,
        camera_id=camera_id,
        camera_code=code,
    )


def _item_lane(core: CoreServices, principal: Principal, item_id: int) -> ResolvedLane:
    assert core.store is not None
    try:
        item = get_item(core, principal, item_id).item
    except EvidenceError as exc:
        raise LaneRefused(exc.message, status=exc.status) from None
    if item.kind is not EvidenceKind.VIDEO:
        raise LaneRefused(f"evidence item {item_id} is a photo: photos are shown as markers, not replayed")
    if item.deleted_at is not None:
        raise LaneRefused(f"evidence item {item_id} was deleted after its retention ran out", status=410)
    if item.recorded_start is None:
        raise LaneRefused(
            f"evidence item {item_id} has no recorded time, so it cannot be placed on the timeline"
        )
    media = dict(item.media or {})
    duration = float(media.get("duration_s") or 0.0)
    start_s = epoch(item.recorded_start)
    end_s = epoch(item.recorded_end) if item.recorded_end is not None else start_s + duration
    codec = media.get("video_codec")
    file = MediaFile(
        bucket=item.bucket,
        key=item.object_key,
        size=item.size_bytes,
        origin=start_s,
        end=max(end_s, start_s + duration),
        codec=str(codec) if codec else None,
        version_id=item.version_id,
    )
    return ResolvedLane(
        id=f"evidence:{item_id}",
        kind="evidence",
        label=item.original_filename,
        source=ItemSource(core.store, file),
        codec=file.codec,
        profile_level_id=DEFAULT_PROFILE_LEVEL_ID,
        evidence_item_id=item_id,
        batch_id=item.batch_id,
        recorded_start=item.recorded_start,
        recorded_end=item.recorded_end,
        rotation=int(media.get("rotation") or 0),
    )


def _probe(lane: ResolvedLane, start: float) -> None:
    """Read the codec and H.264 profile of the lane's first file from ``start`` on."""
    if lane.kind == "evidence" and not lane.playable:
        return
    try:
        info = lane.source.probe(start)
    except (MediaError, StorageError, OSError) as exc:
        raise LaneRefused(f"the footage of {lane.id} cannot be read: {exc}", status=503) from None
    if info is None:
        return
    lane.codec = info.codec
    if info.codec == "h264":
        lane.profile_level_id = camera_profile_level_id(info.parameter_sets.sps, info.profile)
