"""The recording API: footage of a batch or a camera, clip export, hash-chain verification, alerts.

Times go in as ISO 8601 with an offset (``2025-03-01T08:30:00+08:00`` or ``...Z``) and come out in the yard's
time zone with its offset. ``{camera}`` in a path is a camera id or a camera code.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from starlette.background import BackgroundTask

from recorder.clip import ClipError, ClipResult, ClipWriter, check_range, plan_clip
from recorder.index import SegmentIndex, TimeRange
from recorder.linking import OPEN_END, BatchLinker
from recorder.models import RecordingGap, Segment, SegmentBatchLink
from vms.api.deps import Core, client_address, require
from vms.api.errors import ApiError
from vms.auth import Permission, Principal
from vms.context import CoreServices
from vms.db import utcnow
from vms.db.models import Alert, Camera, InspectionBatch, bay_cameras
from vms.storage import StorageError, StorageUnavailable

MAX_LISTING_SECONDS = 24 * 3600
GAP_TOLERANCE_S = 0.5
TIME_HINT = "use ISO 8601 with an offset, e.g. 2025-03-01T08:30:00+08:00 or 2025-03-01T00:30:00Z"


# ---- inputs ------------------------------------------------------------------------------------------


def parse_time(name: str, text: str) -> datetime:
    """An ISO 8601 time with offset; a '+' a client forgot to encode (read as a space) is put back."""
    cleaned = text.strip()
    if len(cleaned) > 6 and cleaned[-6] == " " and cleaned[-3] == ":":
        cleaned = cleaned[:-6] + "+" + cleaned[-5:]
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ApiError(422, f"{name}: {text!r} is not a time ({TIME_HINT})") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ApiError(422, f"{name}: {text!r} has no time zone offset ({TIME_HINT})")
    return value


def time_range(start: str, end: str, max_seconds: float) -> tuple[datetime, datetime]:
    begin, finish = parse_time("start", start), parse_time("end", end)
    if finish <= begin:
        raise ApiError(422, "end must be after start")
    if (finish - begin).total_seconds() > max_seconds:
        raise ApiError(422, f"the range may be at most {max_seconds / 3600:g} hours long")
    return begin, finish


def find_camera(core: CoreServices, ref: str) -> Camera:
    """The camera with id ``ref`` (digits) or code ``ref``; 404 otherwise."""
    with core.db.sessions() as s:
        query = (
            select(Camera).where(Camera.id == int(ref))
            if ref.isdigit()
            else select(Camera).where(Camera.code == ref)
        )
        camera = s.scalar(query)
    if camera is None:
        raise ApiError(404, f"camera {ref!r} not found")
    return camera


# ---- outputs -----------------------------------------------------------------------------------------


class _Views:
    """Turns rows into JSON in the yard's time zone."""

    def __init__(self, core: CoreServices) -> None:
        self._zone = core.settings.zone

    def t(self, value: datetime | None) -> str | None:
        return None if value is None else value.astimezone(self._zone).isoformat()

    def span(self, r: TimeRange) -> dict[str, Any]:
        return {"start": self.t(r.start), "end": self.t(r.end), "seconds": round(r.seconds, 3)}

    def segment(self, seg: Segment) -> dict[str, Any]:
        return {
            "id": seg.id,
            "start": self.t(seg.start_at),
            "end": self.t(seg.end_at),
            "size_bytes": seg.size_bytes,
            "sha256": seg.sha256,
            "legal_hold": seg.legal_hold,
        }

    def gap(self, start: datetime, end: datetime, reason: str) -> dict[str, Any]:
        return {"start": self.t(start), "end": self.t(end), "reason": reason}


def merge_ranges(segments: list[Segment], start: datetime, end: datetime) -> list[TimeRange]:
    """Recorded spans within ``[start, end)``: segments merged where they touch."""
    merged: list[TimeRange] = []
    slack = timedelta(seconds=GAP_TOLERANCE_S)
    for seg in sorted(segments, key=lambda x: x.start_at):
        s0, e0 = max(seg.start_at, start), min(seg.end_at, end)
        if e0 <= s0:
            continue
        if merged and s0 <= merged[-1].end + slack:
            if e0 > merged[-1].end:
                merged[-1] = TimeRange(merged[-1].start, e0)
        else:
            merged.append(TimeRange(s0, e0))
    return merged


def holes(ranges: list[TimeRange], start: datetime, end: datetime) -> list[TimeRange]:
    """The parts of ``[start, end)`` no range covers (shorter than the tolerance ignored)."""
    out: list[TimeRange] = []
    edge = start
    for r in ranges:
        if (r.start - edge).total_seconds() > GAP_TOLERANCE_S:
            out.append(TimeRange(edge, r.start))
        edge = max(edge, r.end)
    if (end - edge).total_seconds() > GAP_TOLERANCE_S:
        out.append(TimeRange(edge, end))
    return out


def camera_footage(
    core: CoreServices, camera: Camera, segments: list[Segment], start: datetime, end: datetime
) -> dict[str, Any]:
    """One camera's footage over ``[start, end)``: merged ranges, segments and explained gaps."""
    views = _Views(core)
    ranges = merge_ranges(segments, start, end)
    recorded_gaps = SegmentIndex(core.db).gaps(camera.id, start, end)
    gaps = [views.gap(h.start, h.end, _gap_reason(h, recorded_gaps)) for h in holes(ranges, start, end)]
    return {
        "camera_id": camera.id,
        "camera_code": camera.code,
        "camera_name": camera.name,
        "ranges": [views.span(r) for r in ranges],
        "recorded_seconds": round(sum(r.seconds for r in ranges), 3),
        "segments": [views.segment(s) for s in segments],
        "gaps": gaps,
    }


def _gap_reason(hole: TimeRange, recorded: list[RecordingGap]) -> str:
    for gap in recorded:
        if gap.start_at < hole.end and (gap.end_at is None or gap.end_at > hole.start):
            return str(gap.reason)
    return "not_recorded"


def _audit_view(core: CoreServices, principal: Principal, request: Request, **fields: Any) -> None:
    core.audit.record(principal.actor, "view", client=client_address(request), **fields)


# ---- routes ------------------------------------------------------------------------------------------


def recording_router() -> APIRouter:
    """Routes of the recording API; the assembly includes it in the app."""
    router = APIRouter(prefix="/api", tags=["recording"])

    @router.get("/batches/{batch_id}/footage")
    def batch_footage(
        batch_id: int, request: Request, core: Core, principal: Principal = require(Permission.REPLAY_VIEW)
    ) -> dict[str, Any]:
        """The footage linked to a batch, per covering camera."""
        views = _Views(core)
        linker = BatchLinker(core.db, core.settings.recording.batch_margin_seconds)
        with core.db.sessions() as s:
            batch = s.get(InspectionBatch, batch_id)
            if batch is None:
                raise ApiError(404, f"batch {batch_id} not found")
            window = linker.window_of(batch)
            bay_camera_ids = (
                set(s.scalars(select(bay_cameras.c.camera_id).where(bay_cameras.c.bay_id == batch.bay_id)))
                if batch.bay_id is not None
                else set()
            )
            segments = list(
                s.scalars(
                    select(Segment)
                    .join(SegmentBatchLink, SegmentBatchLink.segment_id == Segment.id)
                    .where(SegmentBatchLink.batch_id == batch_id)
                    .order_by(Segment.camera_id, Segment.start_at)
                )
            )
            camera_ids = bay_camera_ids | {seg.camera_id for seg in segments}
            cameras = list(s.scalars(select(Camera).where(Camera.id.in_(camera_ids)).order_by(Camera.code)))
            number, disputed, batch_window = batch.number, batch.disputed, batch.window
        cameras_out = []
        if window is not None:
            until = min(window.end, max(utcnow(), window.start))
            for camera in cameras:
                own = [seg for seg in segments if seg.camera_id == camera.id]
                cameras_out.append(camera_footage(core, camera, own, window.start, until))
        _audit_view(
            core,
            principal,
            request,
            object_type="batch",
            object_id=batch_id,
            detail={"what": "footage", "cameras": [c.code for c in cameras]},
        )
        return {
            "batch_id": batch_id,
            "number": number,
            "disputed": disputed,
            "window": {"start": views.t(batch_window[0]), "end": views.t(batch_window[1])},
            "footage_window": None
            if window is None
            else {
                "start": views.t(window.start),
                "end": None if window.end == OPEN_END else views.t(window.end),
            },
            "cameras": cameras_out,
        }

    @router.get("/cameras/{camera}/footage")
    def footage(
        camera: str,
        core: Core,
        start: str = Query(..., description="ISO 8601 with offset"),
        end: str = Query(..., description="ISO 8601 with offset"),
        _: Principal = require(Permission.REPLAY_VIEW),
    ) -> dict[str, Any]:
        """What a camera recorded over a time range (at most 24 h)."""
        begin, finish = time_range(start, end, MAX_LISTING_SECONDS)
        cam = find_camera(core, camera)
        segments = SegmentIndex(core.db).segments(cam.id, begin, finish)
        views = _Views(core)
        return {
            "start": views.t(begin),
            "end": views.t(finish),
            **camera_footage(core, cam, segments, begin, finish),
        }

    @router.get("/cameras/{camera}/recording/verify")
    def verify(camera: str, core: Core, _: Principal = require(Permission.REPLAY_VIEW)) -> dict[str, Any]:
        """Recompute the camera's segment hash chain."""
        cam = find_camera(core, camera)
        result = SegmentIndex(core.db).verify_chain(cam.id)
        return {
            "camera_id": cam.id,
            "camera_code": cam.code,
            "ok": result.ok,
            "checked": result.checked,
            "first_broken_segment_id": result.first_broken_id,
            "problem": result.problem,
        }

    @router.get("/cameras/{camera}/clip.mp4")
    def clip(
        camera: str,
        request: Request,
        core: Core,
        start: str = Query(..., description="ISO 8601 with offset"),
        end: str = Query(..., description="ISO 8601 with offset"),
        principal: Principal = require(Permission.FOOTAGE_EXPORT),
    ) -> FileResponse:
        """One MP4 of the camera's footage over ``[start, end)``, remuxed without re-encoding."""
        begin, finish = parse_time("start", start), parse_time("end", end)
        cam = find_camera(core, camera)
        if core.store is None:
            raise ApiError(503, "object storage is not configured on this node")
        path, result = _make_clip(core, cam, begin, finish)
        _audit_export(core, principal.actor, client_address(request), cam, result.as_json())
        name = f"{cam.code}_{begin.astimezone(core.settings.zone).strftime('%Y%m%dT%H%M%S')}.mp4"
        headers = {
            "X-Clip-Start": result.start.isoformat(),
            "X-Clip-End": result.end.isoformat(),
            "X-Clip-Gaps": _json([g.as_json() for g in result.gaps]),
        }
        if result.audio_dropped:
            headers["X-Clip-Audio"] = result.audio_dropped
        return FileResponse(
            path,
            media_type="video/mp4",
            filename=name,
            headers=headers,
            background=BackgroundTask(path.unlink, missing_ok=True),
        )

    @router.get("/alerts")
    def alerts(
        core: Core,
        active: bool = Query(False, description="only alerts not cleared yet"),
        camera_id: int | None = Query(None),
        limit: int = Query(200, ge=1, le=1000),
        _: Principal = require(Permission.ALERTS_READ),
    ) -> list[dict[str, Any]]:
        """Alerts, newest first."""
        views = _Views(core)
        query = select(Alert, Camera.code).outerjoin(Camera, Camera.id == Alert.camera_id)
        if active:
            query = query.where(Alert.cleared_at.is_(None))
        if camera_id is not None:
            query = query.where(Alert.camera_id == camera_id)
        with core.db.sessions() as s:
            rows = s.execute(query.order_by(Alert.raised_at.desc(), Alert.id.desc()).limit(limit)).all()
        return [
            {
                "id": a.id,
                "kind": a.kind,
                "camera_id": a.camera_id,
                "camera_code": code,
                "message": a.message,
                "raised_at": views.t(a.raised_at),
                "cleared_at": views.t(a.cleared_at),
                "active": a.cleared_at is None,
            }
            for a, code in rows
        ]

    return router


def _make_clip(core: CoreServices, cam: Camera, start: datetime, end: datetime) -> tuple[Path, ClipResult]:
    assert core.store is not None
    index = SegmentIndex(core.db)
    tmp_dir = core.settings.data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="clip-", suffix=".mp4", dir=tmp_dir)
    os.close(fd)
    path = Path(name)
    try:
        check_range(start, end)
        segments = plan_clip(index, cam.id, start, end)
        result = ClipWriter(core.store, index, tmp_dir).write(segments, start, end, path)
    except ClipError as exc:
        path.unlink(missing_ok=True)
        raise ApiError(exc.status, str(exc)) from None
    except StorageUnavailable as exc:
        path.unlink(missing_ok=True)
        raise ApiError(503, f"object storage is unavailable: {exc}") from None
    except StorageError as exc:
        path.unlink(missing_ok=True)
        raise ApiError(503, f"footage could not be read from object storage: {exc}") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, result


def _audit_export(core: CoreServices, actor: str, client: str, cam: Camera, detail: dict[str, Any]) -> None:
    core.audit.record(
        actor,
        "export",
        object_type="camera",
        object_id=cam.code,
        client=client,
        detail={"kind": "clip", **detail},
    )


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True)
