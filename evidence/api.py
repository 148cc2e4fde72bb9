"""The evidence API: uploads (tus), items, downloads, relinking, custody, device clocks, deletion.

The assembly includes :func:`evidence_routers`. Inspectors see only items of batches assigned to them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse

from evidence.api_errors import translated
from evidence.api_uploads import uploads_router
from evidence.custody import custody_html, custody_of
from evidence.errors import NotFound, StorageDown
from evidence.items import audit_access, get_item, list_items
from evidence.linking import Acting, list_clock_offsets, relink, set_clock_offset
from evidence.retention import delete_item
from evidence.views import (
    ClockOffsetRequest,
    ClockOffsetView,
    CustodyView,
    DeleteRequest,
    EvidenceItemView,
    EvidencePage,
    RelinkRequest,
)
from vms.api.deps import Core, client_address, require
from vms.api.errors import ApiError
from vms.auth import Permission, Principal
from vms.context import CoreServices
from vms.storage import ObjectNotFound, ObjectReader, StorageError

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
SerialPath = Annotated[str, Path(min_length=1, max_length=100, description="the body-cam's serial number")]


def evidence_routers() -> list[APIRouter]:
    """Every evidence router, uploads first (its paths must win over ``/api/evidence/{item_id}``)."""
    return [uploads_router(), _items_router()]


def _acting(principal: Principal, request: Request) -> Acting:
    return Acting(principal.actor, client_address(request))


def _items_router() -> APIRouter:
    router = APIRouter(prefix="/api/evidence", tags=["evidence"])

    @router.get("", response_model=EvidencePage)
    def list_evidence(
        core: Core,
        principal: Principal = require(Permission.EVIDENCE_READ),
        batch: Annotated[str | None, Query(description="batch number")] = None,
        include_deleted: bool = False,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> EvidencePage:
        """Items newest first, of one batch or of all batches you may see."""
        with translated():
            return list_items(
                core,
                principal,
                batch_number=batch,
                include_deleted=include_deleted,
                limit=limit,
                offset=offset,
            )

    @router.get("/devices", response_model=list[ClockOffsetView])
    def list_devices(core: Core, _: Principal = require(Permission.EVIDENCE_READ)) -> list[ClockOffsetView]:
        """Body-cam clock offsets set so far."""
        return list_clock_offsets(core)

    @router.put("/devices/{serial}/clock", response_model=ClockOffsetView)
    def put_device_clock(
        serial: SerialPath,
        body: ClockOffsetRequest,
        request: Request,
        core: Core,
        principal: Principal = require(Permission.EVIDENCE_MANAGE),
    ) -> ClockOffsetView:
        """Set how far the body-cam's clock is off (yard = device + offset_s); its items are re-timed."""
        return set_clock_offset(core, _acting(principal, request), serial, body.offset_s, body.note)

    @router.get("/{item_id}", response_model=EvidenceItemView)
    def get_evidence(
        item_id: int, request: Request, core: Core, principal: Principal = require(Permission.EVIDENCE_READ)
    ) -> EvidenceItemView:
        with translated():
            record = get_item(core, principal, item_id)
        audit_access(core, principal.actor, client_address(request), item_id, "evidence.view")
        return record.view

    @router.get("/{item_id}/download")
    def download(
        item_id: int,
        request: Request,
        core: Core,
        range_header: Annotated[str | None, Header(alias="range")] = None,
        principal: Principal = require(Permission.EVIDENCE_READ),
    ) -> Response:
        """The original bytes, as uploaded (Range requests supported); every download is audited."""
        with translated():
            record = get_item(core, principal, item_id)
            item = record.item
            if item.deleted_at is not None:
                raise NotFound(f"evidence item {item_id} was deleted after its retention ran out")
            span = _byte_range(range_header, item.size_bytes)
            start, end = span or (0, item.size_bytes - 1)
            reader = _open(core, item.bucket, item.object_key, item.version_id, start, end - start + 1)
        audit_access(
            core,
            principal.actor,
            client_address(request),
            item_id,
            "evidence.download",
            range=f"{start}-{end}" if span else "all",
            sha256=item.sha256,
        )
        headers = {
            "Accept-Ranges": "bytes",
            "Content-Length": str(end - start + 1),
            "Content-Disposition": _attachment(item.original_filename),
            "X-Content-SHA256": item.sha256,
        }
        if span:
            headers["Content-Range"] = f"bytes {start}-{end}/{item.size_bytes}"
        return StreamingResponse(
            _chunks(reader), status_code=206 if span else 200, media_type=item.content_type, headers=headers
        )

    @router.get("/{item_id}/poster")
    def poster(
        item_id: int, core: Core, principal: Principal = require(Permission.EVIDENCE_READ)
    ) -> Response:
        """A JPEG thumbnail (not audited: lists show one per item)."""
        return _derived(core, principal, item_id, "poster", "image/jpeg")

    @router.get("/{item_id}/preview")
    def preview(
        item_id: int, request: Request, core: Core, principal: Principal = require(Permission.EVIDENCE_READ)
    ) -> Response:
        """A short low-resolution MP4 of the start of a video (audited)."""
        response = _derived(core, principal, item_id, "preview", "video/mp4")
        audit_access(core, principal.actor, client_address(request), item_id, "evidence.preview")
        return response

    @router.post("/{item_id}/relink", response_model=EvidenceItemView)
    def relink_item(
        item_id: int,
        body: RelinkRequest,
        request: Request,
        core: Core,
        principal: Principal = require(Permission.EVIDENCE_MANAGE),
    ) -> EvidenceItemView:
        """Link the item to another batch; the reason goes into its chain of custody."""
        with translated():
            relink(core, _acting(principal, request), item_id, body.batch, body.reason)
            return get_item(core, principal, item_id).view

    @router.get("/{item_id}/custody", response_model=CustodyView)
    def custody(
        item_id: int,
        core: Core,
        principal: Principal = require(Permission.EVIDENCE_READ),
        format: Annotated[Literal["json", "html"], Query(description="html: a printable page")] = "json",
    ) -> Response | CustodyView:
        """Who did what to the item, when, in order, from the tamper-evident audit log."""
        with translated():
            view = custody_of(core, get_item(core, principal, item_id))
        if format == "html":
            return HTMLResponse(custody_html(view, core.settings.zone))
        return view

    @router.get("/{item_id}/custody.html", response_class=HTMLResponse)
    def custody_page(
        item_id: int, core: Core, principal: Principal = require(Permission.EVIDENCE_READ)
    ) -> HTMLResponse:
        """The chain of custody as a printable page (Chinese/English, yard time zone)."""
        with translated():
            view = custody_of(core, get_item(core, principal, item_id))
        return HTMLResponse(custody_html(view, core.settings.zone))

    @router.delete("/{item_id}", status_code=204)
    def delete_evidence(
        item_id: int,
        body: DeleteRequest,
        request: Request,
        core: Core,
        principal: Principal = require(Permission.EVIDENCE_DELETE),
    ) -> Response:
        """Delete an item whose retention has run out; 409 while it is held or still retained."""
        with translated():
            delete_item(core, _acting(principal, request), item_id, body.reason)
        return Response(status_code=204)

    return router


def _derived(core: CoreServices, principal: Principal, item_id: int, what: str, media_type: str) -> Response:
    with translated():
        item = get_item(core, principal, item_id).item
        key = item.poster_key if what == "poster" else item.preview_key
        if key is None or item.deleted_at is not None:
            raise NotFound(f"evidence item {item_id} has no {what}")
        reader = _open(core, item.bucket, key, None, 0, None)
    return StreamingResponse(_chunks(reader), media_type=media_type, headers={"Cache-Control": "private"})


def _open(
    core: CoreServices, bucket: str, key: str, version_id: str | None, offset: int, length: int | None
) -> ObjectReader:
    if core.store is None:
        raise StorageDown("object storage is not configured on this node")
    try:
        return core.store.open_read(bucket, key, offset, length, version_id=version_id)
    except ObjectNotFound:
        raise NotFound(f"the stored object {key} is missing from object storage") from None
    except StorageError as exc:
        raise StorageDown(f"object storage cannot be read now: {exc}") from None


def _chunks(reader: ObjectReader) -> Iterator[bytes]:
    with reader:
        yield from reader


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=a-b`` range as (first, last) inclusive; None for the whole file; 416 if unsatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.group(0) == "bytes=-":
        raise ApiError(416, "only one range of the form bytes=first-last is supported", code="bad_range")
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start > end or start >= size:
        raise ApiError(416, f"the range is outside the file ({size} bytes)", code="bad_range")
    return start, end


def _attachment(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
