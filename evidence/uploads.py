"""Resumable uploads (the server side of tus 1.0): create, append at an offset, ask the offset, cancel.

Bytes stream to a staging file and into a running SHA-256; nothing is held in memory beyond two buffers.
An upload larger than one S3 part whose client declared its SHA-256 is also sent to S3 while it arrives,
as the parts of a multipart upload read back from the staging file (:mod:`evidence.multipart`). When the
last byte arrives the hash is checked against the client's and the file goes through intake (inspection,
then the object is completed or put, locked, and becomes an item). A refused, cancelled or expired upload
leaves nothing behind: no staging file, no upload, no object or multipart upload, no item.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select

from evidence.batch_access import batch_by_id, batch_by_number, require_upload_access
from evidence.errors import ChecksumMismatch, Conflict, EvidenceError, NotFound, Refused, TooLarge
from evidence.intake import (
    ITEM_PREFIX,
    Uploaded,
    accept,
    content_type_for_name,
    existing_item,
    filename_extension,
    item_key,
    new_item_name,
    record_duplicate,
    require_store,
)
from evidence.models import Upload
from evidence.multipart import PartBuffers, PartSender, abort_quietly, part_size_for
from evidence.staging import BusyUploads, RunningHashes, StagingRemoval, remove_quietly, staging_dir
from vms.auth import Principal
from vms.context import CoreServices
from vms.db import utcnow
from vms.storage import SentPart, StorageError

log = logging.getLogger("evidence.uploads")

DEFAULT_EXPIRY_HOURS = 24.0
WRITE_BUFFER = 1024 * 1024
"""The request body is written (and hashed) in batches of about this size, one batch while the next
arrives."""
PART_WORKERS = 4
"""Threads (per node) that send parts to S3: at most this many parts are in memory at once."""
_IOV_MAX = 512
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
        self._senders: dict[str, PartSender] = {}
        self._senders_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._buffers = PartBuffers()
        self._removal = StagingRemoval(core.settings)

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
        part_size = part_size_for(length)
        extension = filename_extension(filename)
        streamed = sha256 is not None and extension is not None and length > part_size
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
            # Sent to S3 while it arrives (the object's sha256 metadata is then the client's, verified
            # before the object is completed); otherwise stored after inspection.
            object_key=item_key(new_item_name(now), extension or "") if streamed else None,
            part_size=part_size if streamed else None,
        )
        duplicate_of = existing_item(self.core, batch.id, sha256) if sha256 else None
        if duplicate_of is not None:
            row.offset, row.item_id, row.staging_path = length, duplicate_of, ""
            row.object_key = row.part_size = None
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
        """Cancel an upload: its staged bytes and the parts sent to S3 are deleted (a finished upload's item
        stays)."""
        with self.core.db.session() as s:
            row = self._row(s, principal, upload_id)
            path = row.staging_path
            s.delete(row)
        self._drop_s3_upload(row)
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
        row = await asyncio.to_thread(self._staging_row, upload_id)
        path = Path(row.staging_path)
        sender = await asyncio.to_thread(self._sender, row)
        hasher = await asyncio.to_thread(self._hashes.resume, upload_id, path, state.offset)
        chunk_hash = _chunk_hasher(checksum)
        # Without a per-request checksum every byte written is kept (even if the client goes away), so it
        # is settled at once; with one, only once the whole request checked out.
        progressive = sender if chunk_hash is None else None
        start = state.offset
        written = 0
        gone = False
        if sender is not None:
            await asyncio.to_thread(sender.rewind, start)
        f = await asyncio.to_thread(_open_at, path, start)
        try:
            batch: list[bytes] = []
            size = 0
            received = start
            writing: Awaitable[int] | None = None  # the previous batch, written while this one fills
            try:
                try:
                    async for chunk in body:
                        received += len(chunk)
                        if received > state.length:
                            raise TooLarge(f"the request body goes past Upload-Length ({state.length} bytes)")
                        batch.append(chunk)
                        size += len(chunk)
                        if size >= WRITE_BUFFER:
                            if writing is not None:
                                written += await writing
                            writing = asyncio.ensure_future(
                                asyncio.to_thread(_stage, f, batch, hasher, chunk_hash, progressive, received)
                            )
                            batch, size = [], 0
                except ClientGone:
                    gone = True
            finally:
                if writing is not None:
                    written += await writing
            if batch:
                written += await asyncio.to_thread(
                    _stage, f, batch, hasher, chunk_hash, progressive, start + written + size
                )
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
        if sender is not None and progressive is None:
            await asyncio.to_thread(sender.advance, new_offset)
        return new_offset

    def _finish(self, principal: Principal, client: str, upload_id: str) -> UploadState:
        with self.core.db.sessions() as s:
            row = self._row(s, principal, upload_id)
            batch = batch_by_id(s, self.core.settings, row.batch_id)
        path = Path(row.staging_path)
        sender = self._sender(row)
        digest = self._hashes.resume(upload_id, path, row.offset).hexdigest()
        upload = Uploaded(path, row.filename, digest, row.declared_length, batch, row.username, client)
        try:
            if row.expected_sha256 and digest != row.expected_sha256:
                raise Refused(
                    f"the file received has SHA-256 {digest}, not {row.expected_sha256} as the client "
                    "computed: it changed or was damaged on the way; upload it again"
                )
            if sender is not None:
                sender.advance(row.declared_length, wait=False)  # the last parts go up (intake waits)
            result = accept(self.core, upload, sender)
        except Refused as exc:
            self._refused(upload, row, exc)
            raise
        except EvidenceError:
            if sender is not None and sender.closed:
                self._forget_sender(upload_id)  # a retry starts again from what the row recorded
            raise
        with self.core.db.session() as s:
            stored = s.get(Upload, upload_id)
            if stored is not None:
                stored.item_id, stored.staging_path = result.item_id, ""
                stored.s3_upload_id, stored.s3_parts = None, None
        self._forget_sender(upload_id)
        self._removal.remove(path)
        self._hashes.forget(upload_id)
        return UploadState(
            upload_id,
            row.declared_length,
            row.declared_length,
            row.expires_at,
            result.item_id,
            result.duplicate,
        )

    def _refused(self, upload: Uploaded, row: Upload, exc: Refused) -> None:
        upload_id = row.id
        with self.core.db.session() as s:
            stored = s.get(Upload, upload_id)
            if stored is not None:
                s.delete(stored)
        self._drop_s3_upload(row)
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
            live_s3 = {u for u in s.scalars(select(Upload.s3_upload_id)) if u}
        for row in expired:
            self._drop_s3_upload(row)
        for path in paths:
            remove_quietly(path)
        for row in expired:
            self._hashes.forget(row.id)
        self._removal.empty_trash()
        for orphan in staging_dir(self.core.settings).iterdir():
            if orphan.name not in known and orphan.stat().st_mtime < (now - timedelta(hours=1)).timestamp():
                remove_quietly(orphan)
        self._abort_orphan_s3_uploads(live_s3, now)
        if expired:
            log.info("removed %d expired evidence uploads", len(expired))
        return len(expired)

    def _abort_orphan_s3_uploads(self, live: set[str], now: datetime) -> None:
        """Abort multipart uploads of originals that no upload owns (left by a crash between starting one
        and recording it, or by a failed abort) once they are older than an upload may live."""
        store, bucket = self.core.store, self.core.settings.storage.evidence_bucket
        if store is None:
            return
        cutoff = now - timedelta(hours=expiry_hours(self.core) + 1)
        try:
            pending = store.list_multipart_uploads(bucket, prefix=ITEM_PREFIX)
        except StorageError as exc:
            log.warning("could not list the multipart uploads in %s: %s", bucket, exc)
            return
        for orphan in pending:
            if orphan.upload_id not in live and orphan.initiated is not None and orphan.initiated < cutoff:
                log.info("aborting the abandoned multipart upload of s3://%s/%s", bucket, orphan.key)
                abort_quietly(store, bucket, orphan.key, orphan.upload_id)

    # -- the S3 side of streamed uploads --------------------------------------------------------------

    def _sender(self, row: Upload) -> PartSender | None:
        """The PartSender of a streamed upload (rebuilt from the row after a restart), else None."""
        if not row.object_key or not row.part_size or not row.staging_path:
            return None
        store = require_store(self.core)
        with self._senders_lock:
            sender = self._senders.get(row.id)
            if sender is not None:
                return sender
            parts = _recorded_parts(row.s3_parts)
            s3_upload_id = row.s3_upload_id
            if parts is None:  # recorded before parts had checksums: send everything again
                if s3_upload_id:
                    abort_quietly(
                        store, self.core.settings.storage.evidence_bucket, row.object_key, s3_upload_id
                    )
                parts, s3_upload_id = {}, None
            sender = self._senders[row.id] = PartSender(
                store,
                self.core.settings.storage.evidence_bucket,
                row.object_key,
                Path(row.staging_path),
                row.declared_length,
                row.part_size,
                content_type=content_type_for_name(row.filename),
                metadata={"sha256": row.expected_sha256 or "", "uploaded-by": row.username},
                upload_id=s3_upload_id,
                parts=parts,
                save=partial(self._save_parts, row.id),
                executor=self._part_executor(),
                buffers=self._buffers,
            )
        sender.rewind(row.offset)  # parts recorded for bytes that were never acknowledged do not count
        return sender

    def _part_executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(PART_WORKERS, thread_name_prefix="evidence-s3-parts")
        return self._executor

    def _forget_sender(self, upload_id: str) -> PartSender | None:
        with self._senders_lock:
            return self._senders.pop(upload_id, None)

    def _drop_s3_upload(self, row: Upload) -> None:
        """Abort the multipart upload of an upload that ends without an item."""
        sender = self._forget_sender(row.id)
        if sender is not None:
            sender.abort()
        elif row.s3_upload_id and row.object_key and self.core.store is not None:
            bucket = self.core.settings.storage.evidence_bucket
            abort_quietly(self.core.store, bucket, row.object_key, row.s3_upload_id)

    def _save_parts(self, upload_id: str, s3_upload_id: str | None, parts: dict[int, SentPart]) -> None:
        with self.core.db.session() as s:
            row = s.get(Upload, upload_id)
            if row is not None and row.item_id is None:
                row.s3_upload_id = s3_upload_id
                row.s3_parts = {
                    str(n): {"etag": part.etag, "crc32": part.crc32} for n, part in sorted(parts.items())
                }

    # -- rows -----------------------------------------------------------------------------------------

    def _row(self, s: Any, principal: Principal, upload_id: str) -> Upload:
        row = s.get(Upload, upload_id)
        if row is None or row.username != principal.actor:
            raise NotFound("upload not found (it was finished and cleaned up, cancelled, or has expired)")
        if row.expires_at <= utcnow() and row.item_id is None:
            raise NotFound("upload has expired: start it again")
        return row  # type: ignore[no-any-return]

    def _staging_row(self, upload_id: str) -> Upload:
        with self.core.db.sessions() as s:
            row = s.get(Upload, upload_id)
            if row is None or not row.staging_path:
                raise NotFound("upload not found")
            return row  # type: ignore[no-any-return]

    def _save_offset(self, upload_id: str, offset: int) -> None:
        with self.core.db.session() as s:
            row = s.get(Upload, upload_id)
            if row is not None:
                row.offset = offset


def _state(row: Upload, duplicate: bool = False) -> UploadState:
    return UploadState(row.id, row.declared_length, row.offset, row.expires_at, row.item_id, duplicate)


def _recorded_parts(recorded: dict[str, Any] | None) -> dict[int, SentPart] | None:
    """The parts an upload row records as sent; None if some lack a checksum (recorded by an older version,
    whose S3 upload declared none)."""
    parts: dict[int, SentPart] = {}
    for number, part in (recorded or {}).items():
        if not isinstance(part, dict) or not part.get("etag") or not part.get("crc32"):
            return None
        parts[int(number)] = SentPart(str(part["etag"]), str(part["crc32"]))
    return parts


def _chunk_hasher(checksum: tuple[str, bytes] | None) -> Any:
    if checksum is None:
        return None
    algorithm = checksum[0]
    if algorithm not in ("sha1", "sha256", "md5"):
        raise EvidenceError(f"Upload-Checksum algorithm '{algorithm}' is not supported (use sha256 or sha1)")
    return hashlib.new(algorithm)


def _open_at(path: Path, offset: int) -> BinaryIO:
    f = path.open("r+b", buffering=0)
    f.truncate(offset)  # bytes past the offset were never acknowledged
    f.seek(offset)
    return f


def _stage(
    f: BinaryIO,
    chunks: list[bytes],
    hasher: Any,
    chunk_hash: Any,
    sender: PartSender | None,
    settled: int,
) -> int:
    """Write and hash ``chunks`` (then the bytes up to ``settled`` are settled for ``sender``, which may
    wait for S3 to catch up); returns the number of bytes written."""
    size = _write(f, chunks, hasher, chunk_hash)
    if sender is not None:
        sender.advance(settled)
    return size


def _write(f: BinaryIO, chunks: list[bytes], hasher: Any, chunk_hash: Any) -> int:
    """Append ``chunks`` as they came (one writev, no joined copy) and feed them to the hashes."""
    fd = f.fileno()
    for first in range(0, len(chunks), _IOV_MAX):
        pending = chunks[first : first + _IOV_MAX]
        while pending:
            done = os.writev(fd, pending)
            while pending and done >= len(pending[0]):
                done -= len(pending[0])
                pending.pop(0)
            if pending and done:
                pending[0] = pending[0][done:]
    size = 0
    for chunk in chunks:
        hasher.update(chunk)
        if chunk_hash is not None:
            chunk_hash.update(chunk)
        size += len(chunk)
    return size


def _truncate(path: Path, size: int) -> None:
    with path.open("r+b") as f:
        f.truncate(size)
