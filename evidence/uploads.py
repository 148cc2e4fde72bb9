"""Resumable uploads (the server side of tus 1.0): create, append at an offset, ask the offset, cancel.

Bytes stream to a staging file and into a running SHA-256; nothing is held in memory beyond one buffer.
When the last byte arrives the hash is checked against the client's and the file goes through intake.
A refused file leaves nothing behind: no staging file, no upload, no object, no item.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select

from evidence.batch_access import batch_by_id, batch_by_number, require_upload_access
from evidence.errors import ChecksumMismatch, Conflict, EvidenceError, NotFound, Refused, TooLarge
from evidence.intake import Uploaded, accept, existing_item, record_duplicate, require_store
from evidence.models import Upload
from evidence.staging import BusyUploads, RunningHashes, remove_quietly, staging_dir
from vms.auth import Principal
from vms.context import CoreServices
from vms.db import utcnow

log = logging.getLogger("evidence.uploads")

DEFAULT_EXPIRY_HOURS = 24.0
WRITE_BUFFER = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ClientGone(Exception):
    """The client went away in the middle of the request body (raised by the body iterator)."""


@dataclass(frozen=True)
class UploadState:
    id: str
    length: int
    offset: int
    expires_at: datetime
    item_id: int | None = None
    duplicate: bool = False


def expiry_hours(core: CoreServices) -> float:
    """How long an unfinished upload is kept (``evidence.upload_expiry_hours``, 24 h if not configured)."""
    value = getattr(core.settings.evidence, "upload_expiry_hours", DEFAULT_EXPIRY_HOURS)
    return float(value)


SERVICE_PROVIDER = "evidence_uploads"


def upload_service(core: CoreServices) -> UploadService:
    """The node's one UploadService, kept in ``core.providers`` (it tracks hashes and busy uploads)."""
    service = core.providers.get(SERVICE_PROVIDER)
    if not isinstance(service, UploadService):
        service = core.providers[SERVICE_PROVIDER] = UploadService(core)
    return service


class UploadService:
    """The uploads of one node; share one instance (it tracks running hashes and busy uploads)."""

    def __init__(self, core: CoreServices) -> None:
        self.core = core
        self._hashes = RunningHashes()
        self._busy = BusyUploads()

    # -- creation -------------------------------------------------------------------------------------

    def create(
        self,
        principal: Principal,
        client: str,
        *,
        batch_number: str | None,
        filename: str | None,
        length: int,
        sha256: str | None,
    ) -> UploadState:
        """Start an upload (or answer with the existing item when the batch already has these bytes)."""
        if not batch_number:
            raise EvidenceError("Upload-Metadata must name the batch: batch <base64 of the batch number>")
        if not filename:
            raise EvidenceError("Upload-Metadata must give the file name: filename <base64 of the name>")
        if sha256 is not None:
            sha256 = sha256.strip().lower()
            if not _SHA256.match(sha256):
                raise EvidenceError("sha256 in Upload-Metadata must be 64 hexadecimal digits")
        if length == 0:
            raise Refused("the file is empty")
        limit = self.core.settings.evidence.max_upload_bytes
        if length > limit:
            raise TooLarge(f"the file has {length} bytes; this server accepts at most {limit} bytes")
        with self.core.db.sessions() as s:
            batch = batch_by_number(s, self.core.settings, batch_number)
        require_upload_access(batch, principal)
        require_store(self.core)
        now = utcnow()
        upload_id = secrets.token_hex(16)
        row = Upload(
            id=upload_id,
            username=principal.actor,
            batch_id=batch.id,
            filename=filename[:255],
            declared_length=length,
            offset=0,
            expected_sha256=sha256,
            created_at=now,
            expires_at=now + timedelta(hours=expiry_hours(self.core)),
            staging_path=str(staging_dir(self.core.settings) / upload_id),
        )
        duplicate_of = existing_item(self.core, batch.id, sha256) if sha256 else None
        if duplicate_of is not None:
            row.offset, row.item_id, row.staging_path = length, duplicate_of, ""
            record_duplicate(
                self.core,
                duplicate_of,
                Uploaded(Path(), filename, sha256 or "", length, batch, principal.actor, client),
            )
        else:
            Path(row.staging_path).touch()
        with self.core.db.session() as s:
            s.add(row)
        return _state(row, duplicate=duplicate_of is not None)

    # -- status and cancel ----------------------------------------------------------------------------

    def status(self, principal: Principal, upload_id: str) -> UploadState:
        with self.core.db.sessions() as s:
            return _state(self._row(s, principal, upload_id))

    def terminate(self, principal: Principal, upload_id: str) -> None:
        """Cancel an upload: its staged bytes are deleted (a finished upload's item stays)."""
        with self.core.db.session() as s:
            row = self._row(s, principal, upload_id)
            path = row.staging_path
            s.delete(row)
        if path:
            remove_quietly(Path(path))
        self._hashes.forget(upload_id)

    # -- appending ------------------------------------------------------------------------------------

    async def append(
        self,
        principal: Principal,
        client: str,
        upload_id: str,
        offset: int,
        body: AsyncIterator[bytes],
        checksum: tuple[str, bytes] | None = None,
    ) -> UploadState:
        """Write ``body`` at ``offset``; 409 when the offset is not where the upload stands."""
        state = await asyncio.to_thread(self.status, principal, upload_id)
        if offset != state.offset:
            raise Conflict(
                f"Upload-Offset {offset} does not match the {state.offset} bytes received so far: "
                "ask with HEAD and continue from there"
            )
        if not self._busy.claim(upload_id):
            raise Conflict("another request is writing to this upload right now")
        try:
            if offset < state.length:
                offset = await self._receive(upload_id, state, body, checksum)
            if offset == state.length and state.item_id is None:
                return await asyncio.to_thread(self._finish, principal, client, upload_id)
            return await asyncio.to_thread(self.status, principal, upload_id)
        finally:
            self._busy.release(upload_id)

    async def _receive(
        self,
        upload_id: str,
        state: UploadState,
        body: AsyncIterator[bytes],
        checksum: tuple[str, bytes] | None,
    ) -> int:
        path = await asyncio.to_thread(self._staging_path, upload_id)
        hasher = await asyncio.to_thread(self._hashes.resume, upload_id, path, state.offset)
        chunk_hash = _chunk_hasher(checksum)
        start = state.offset
        written = 0
        gone = False
        f = await asyncio.to_thread(_open_at, path, start)
        try:
            buffer = bytearray()
            try:
                async for chunk in body:
                    if start + written + len(buffer) + len(chunk) > state.length:
                        raise TooLarge(f"the request body goes past Upload-Length ({state.length} bytes)")
                    buffer += chunk
                    if len(buffer) >= WRITE_BUFFER:
                        full, buffer = buffer, bytearray()  # hand the buffer over instead of copying it
                        await asyncio.to_thread(_write, f, full, hasher, chunk_hash)
                        written += len(full)
            except ClientGone:
                gone = True
            if buffer:
                await asyncio.to_thread(_write, f, buffer, hasher, chunk_hash)
                written += len(buffer)
        finally:
            await asyncio.to_thread(f.close)
        if chunk_hash is not None and checksum is not None and (gone or chunk_hash.digest() != checksum[1]):
            await asyncio.to_thread(_truncate, path, start)  # a chunk that cannot be verified is dropped
            if gone:
                return start
            raise ChecksumMismatch("the chunk does not match its Upload-Checksum; send it again")
        new_offset = start + written
        self._hashes.keep(upload_id, new_offset, hasher)
        await asyncio.to_thread(self._save_offset, upload_id, new_offset)
        return new_offset

    def _finish(self, principal: Principal, client: str, upload_id: str) -> UploadState:
        with self.core.db.sessions() as s:
            row = self._row(s, principal, upload_id)
            batch = batch_by_id(s, self.core.settings, row.batch_id)
        path = Path(row.staging_path)
        digest = self._hashes.resume(upload_id, path, row.offset).hexdigest()
        upload = Uploaded(path, row.filename, digest, row.declared_length, batch, row.username, client)
        try:
            if row.expected_sha256 and digest != row.expected_sha256:
                raise Refused(
                    f"the file received has SHA-256 {digest}, not {row.expected_sha256} as the client "
                    "computed: it changed or was damaged on the way; upload it again"
                )
            result = accept(self.core, upload)
        except Refused as exc:
            self._refused(upload, upload_id, exc)
            raise
        with self.core.db.session() as s:
            stored = s.get(Upload, upload_id)
            if stored is not None:
                stored.item_id, stored.staging_path = result.item_id, ""
        remove_quietly(path)
        self._hashes.forget(upload_id)
        return UploadState(
            upload_id,
            row.declared_length,
            row.declared_length,
            row.expires_at,
            result.item_id,
            result.duplicate,
        )

    def _refused(self, upload: Uploaded, upload_id: str, exc: Refused) -> None:
        with self.core.db.session() as s:
            stored = s.get(Upload, upload_id)
            if stored is not None:
                s.delete(stored)
        remove_quietly(upload.path)
        self._hashes.forget(upload_id)
        self.core.audit.record(
            upload.uploader,
            "evidence.upload_refused",
            object_type="evidence_upload",
            object_id=upload_id,
            client=upload.client,
            detail={
                "reason": exc.message,
                "sha256": upload.sha256,
                "size": upload.size,
                "batch": upload.batch.number,
                "filename": upload.filename,
            },
        )

    # -- housekeeping ---------------------------------------------------------------------------------

    def sweep_expired(self, now: datetime | None = None) -> int:
        """Delete expired uploads and their staging files, and staging files no upload owns; returns the
        number of uploads removed."""
        now = now or utcnow()
        with self.core.db.session() as s:
            expired = list(s.scalars(select(Upload).where(Upload.expires_at <= now)))
            for row in expired:
                s.delete(row)
            paths = [Path(row.staging_path) for row in expired if row.staging_path]
            known = {Path(p).name for p in s.scalars(select(Upload.staging_path)) if p}
        for path in paths:
            remove_quietly(path)
        for row in expired:
            self._hashes.forget(row.id)
        for orphan in staging_dir(self.core.settings).iterdir():
            if orphan.name not in known and orphan.stat().st_mtime < (now - timedelta(hours=1)).timestamp():
                remove_quietly(orphan)
        if expired:
            log.info("removed %d expired evidence uploads", len(expired))
        return len(expired)

    # -- rows -----------------------------------------------------------------------------------------

    def _row(self, s: Any, principal: Principal, upload_id: str) -> Upload:
        row = s.get(Upload, upload_id)
        if row is None or row.username != principal.actor:
            raise NotFound("upload not found (it was finished and cleaned up, cancelled, or has expired)")
        if row.expires_at <= utcnow() and row.item_id is None:
            raise NotFound("upload has expired: start it again")
        return row  # type: ignore[no-any-return]

    def _staging_path(self, upload_id: str) -> Path:
        with self.core.db.sessions() as s:
            row = s.get(Upload, upload_id)
            if row is None or not row.staging_path:
                raise NotFound("upload not found")
            return Path(row.staging_path)

    def _save_offset(self, upload_id: str, offset: int) -> None:
        with self.core.db.session() as s:
            row = s.get(Upload, upload_id)
            if row is not None:
                row.offset = offset


def _state(row: Upload, duplicate: bool = False) -> UploadState:
    return UploadState(row.id, row.declared_length, row.offset, row.expires_at, row.item_id, duplicate)


def _chunk_hasher(checksum: tuple[str, bytes] | None) -> Any:
    if checksum is None:
        return None
    algorithm = checksum[0]
    if algorithm not in ("sha1", "sha256", "md5"):
        raise EvidenceError(f"Upload-Checksum algorithm '{algorithm}' is not supported (use sha256 or sha1)")
    return hashlib.new(algorithm)


def _open_at(path: Path, offset: int) -> BinaryIO:
    f = path.open("r+b")
    f.truncate(offset)  # bytes past the offset were never acknowledged
    f.seek(offset)
    return f


def _write(f: BinaryIO, data: bytes | bytearray, hasher: Any, chunk_hash: Any) -> None:
    f.write(data)
    hasher.update(data)
    if chunk_hash is not None:
        chunk_hash.update(data)


def _truncate(path: Path, size: int) -> None:
    with path.open("r+b") as f:
        f.truncate(size)
