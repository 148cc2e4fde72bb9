"""The tus 1.0 endpoints for evidence uploads under ``/api/evidence/uploads``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.utils import format_datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from starlette.requests import ClientDisconnect

from evidence.api_errors import translated
from evidence.tus import (
    CHECKSUM_ALGORITHMS,
    DUPLICATE_HEADER,
    ITEM_HEADER,
    OFFSET_CONTENT_TYPE,
    TUS_EXTENSIONS,
    TUS_VERSION,
    TusHeaderError,
    parse_checksum,
    parse_metadata,
    parse_non_negative,
)
from evidence.uploads import ClientGone, UploadState, upload_service
from vms.api.deps import Core, client_address, public, require
from vms.api.errors import ApiError
from vms.auth import Permission, Principal

PREFIX = "/api/evidence/uploads"


def uploads_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["evidence uploads (tus 1.0)"])

    @router.options("", status_code=204)
    def discover(core: Core, _: None = public()) -> Response:
        """tus discovery: version, extensions, the largest file accepted, checksum algorithms."""
        return Response(
            status_code=204,
            headers={
                "Tus-Resumable": TUS_VERSION,
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": TUS_EXTENSIONS,
                "Tus-Max-Size": str(core.settings.evidence.max_upload_bytes),
                "Tus-Checksum-Algorithm": CHECKSUM_ALGORITHMS,
            },
        )

    @router.post("", status_code=201)
    def create(
        request: Request,
        core: Core,
        upload_length: Annotated[str | None, Header()] = None,
        upload_metadata: Annotated[str | None, Header()] = None,
        tus_resumable: Annotated[str | None, Header()] = None,
        principal: Principal = require(Permission.EVIDENCE_UPLOAD),
    ) -> Response:
        """Start an upload. Upload-Metadata: ``filename``, ``batch`` (number) and ``sha256`` (hex) of the
        whole file. 403 for an inspector's upload to a batch not assigned to them, 404 unknown batch,
        413 too large. A file the batch already has answers at once with its item
        (``Evidence-Item-Id``, ``Evidence-Duplicate: true``, Upload-Offset = Upload-Length)."""
        _require_tus(tus_resumable)
        with translated():
            try:
                length = parse_non_negative("Upload-Length", upload_length)
                meta = parse_metadata(upload_metadata)
            except TusHeaderError as exc:
                raise ApiError(400, str(exc)) from None
            state = upload_service(core).create(
                principal,
                client_address(request),
                batch_number=meta.get("batch"),
                filename=meta.get("filename") or meta.get("name"),
                length=length,
                sha256=meta.get("sha256"),
            )
        headers = _headers(state)
        headers["Location"] = f"{request.scope.get('root_path', '')}{PREFIX}/{state.id}"
        return Response(status_code=201, headers=headers)

    @router.head("/{upload_id}")
    def offset(
        upload_id: str,
        core: Core,
        tus_resumable: Annotated[str | None, Header()] = None,
        principal: Principal = require(Permission.EVIDENCE_UPLOAD),
    ) -> Response:
        """How many bytes the server has (Upload-Offset) and of how many (Upload-Length)."""
        _require_tus(tus_resumable)
        with translated():
            state = upload_service(core).status(principal, upload_id)
        return Response(status_code=200, headers={**_headers(state), "Cache-Control": "no-store"})

    @router.patch("/{upload_id}", status_code=204)
    async def append(
        upload_id: str,
        request: Request,
        core: Core,
        upload_offset: Annotated[str | None, Header()] = None,
        upload_checksum: Annotated[str | None, Header()] = None,
        content_type: Annotated[str | None, Header()] = None,
        tus_resumable: Annotated[str | None, Header()] = None,
        principal: Principal = require(Permission.EVIDENCE_UPLOAD),
    ) -> Response:
        """Append the body at Upload-Offset (409 if that is not where the upload stands). The request
        that completes the file answers once the file is verified and stored: ``Evidence-Item-Id``, or
        422 with the reason it was refused (nothing is kept then)."""
        _require_tus(tus_resumable)
        if (content_type or "").split(";")[0].strip().lower() != OFFSET_CONTENT_TYPE:
            raise ApiError(415, f"PATCH bodies must be sent as Content-Type: {OFFSET_CONTENT_TYPE}")
        with translated():
            try:
                at = parse_non_negative("Upload-Offset", upload_offset)
                checksum = parse_checksum(upload_checksum)
            except TusHeaderError as exc:
                raise ApiError(400, str(exc)) from None
            state = await upload_service(core).append(
                principal, client_address(request), upload_id, at, _body(request), checksum
            )
        return Response(status_code=204, headers=_headers(state))

    @router.delete("/{upload_id}", status_code=204)
    def terminate(
        upload_id: str,
        core: Core,
        tus_resumable: Annotated[str | None, Header()] = None,
        principal: Principal = require(Permission.EVIDENCE_UPLOAD),
    ) -> Response:
        """Cancel an upload and delete what was received (an item it already became stays)."""
        _require_tus(tus_resumable)
        with translated():
            upload_service(core).terminate(principal, upload_id)
        return Response(status_code=204, headers={"Tus-Resumable": TUS_VERSION})

    return router


def _require_tus(value: str | None) -> None:
    if value != TUS_VERSION:
        raise ApiError(
            412,
            f"send the header Tus-Resumable: {TUS_VERSION} (this server speaks tus {TUS_VERSION})",
            code="precondition_failed",
        )


def _headers(state: UploadState) -> dict[str, str]:
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Offset": str(state.offset),
        "Upload-Length": str(state.length),
        "Upload-Expires": format_datetime(state.expires_at, usegmt=True),
    }
    if state.item_id is not None:
        headers[ITEM_HEADER] = str(state.item_id)
        headers[DUPLICATE_HEADER] = "true" if state.duplicate else "false"
    return headers


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise ClientGone from None
