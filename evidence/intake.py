"""Turning a completely uploaded, checksum-verified file into an evidence item.

Order matters for "nothing half-written stays visible": the file is inspected before anything is stored;
the object is written, locked (COMPLIANCE retention) and, for a disputed batch, held before the item row is
committed. If locking fails the fresh, still unlocked object version is deleted again. A big upload's bytes
are already in S3 as the parts of a multipart upload (:mod:`evidence.multipart`): "written" is then the
CompleteMultipartUpload, and a refusal or duplicate aborts it.
"""

from __future__ import annotations

import logging
import posixpath
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from evidence.batch_access import BatchRef
from evidence.derived import DerivedMedia
from evidence.errors import StorageDown
from evidence.inspect import MediaInfo, inspect_file, starts_like_jpeg
from evidence.models import CUSTODY_OBJECT_TYPE, DeviceClockOffset, EvidenceItem, EvidenceKind, TimeSource
from evidence.multipart import PartSender
from vms.context import CoreServices
from vms.db import utcnow
from vms.storage import ObjectStore, RetentionMode, StorageError

log = logging.getLogger("evidence.intake")

RETENTION_MODE: RetentionMode = (
    "COMPLIANCE"  # nobody, not even the storage admin, can shorten or remove it early
)
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,5})$")
ITEM_PREFIX = "items/"
# The content type of an original streamed to S3 before inspection, from its name (the item's own
# content type comes from inspection; this is only the S3 object's header).
_CONTENT_TYPES = {
    "mp4": "video/mp4",
    "m4v": "video/mp4",
    "mov": "video/quicktime",
    "mkv": "video/x-matroska",
    "webm": "video/x-matroska",
    "avi": "video/x-msvideo",
    "ts": "video/mp2t",
    "mts": "video/mp2t",
    "m2ts": "video/mp2t",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
}
# One intake at a time per process: the duplicate check and the insert must not interleave.
_INTAKE_LOCK = threading.Lock()


S3_PART_BYTES = 5 * 1024 * 1024
"""Part size of the originals stored after inspection (small uploads, or uploads without a SHA-256 from the
client): the smallest part S3 allows, since the parts in flight are what a put costs in memory."""


@dataclass(frozen=True)
class IntakeResult:
    item_id: int
    duplicate: bool


@dataclass(frozen=True)
class Uploaded:
    """A complete upload whose SHA-256 has been verified."""

    path: Path
    filename: str
    sha256: str
    size: int
    batch: BatchRef
    uploader: str
    client: str


def require_store(core: CoreServices) -> ObjectStore:
    if core.store is None:
        raise StorageDown("object storage is not configured on this node: evidence cannot be stored")
    return core.store


def existing_item(core: CoreServices, batch_id: int, sha256: str) -> int | None:
    """The id of a live item of the batch with these bytes, if there is one."""
    with core.db.sessions() as s:
        return s.scalar(
            select(EvidenceItem.id).where(
                EvidenceItem.batch_id == batch_id,
                EvidenceItem.sha256 == sha256,
                EvidenceItem.deleted_at.is_(None),
            )
        )


def record_duplicate(core: CoreServices, item_id: int, upload: Uploaded) -> None:
    core.audit.record(
        upload.uploader,
        "evidence.upload_duplicate",
        object_type=CUSTODY_OBJECT_TYPE,
        object_id=item_id,
        client=upload.client,
        detail={
            "sha256": upload.sha256,
            "size": upload.size,
            "batch": upload.batch.number,
            "filename": upload.filename,
        },
    )


def accept(core: CoreServices, upload: Uploaded, streamed: PartSender | None = None) -> IntakeResult:
    """Inspect, store and lock the file, create its item; Refused/StorageDown leave nothing behind.

    ``streamed``: the multipart upload the file's bytes went into while they arrived; it is completed
    here, or aborted when the batch already has the file (the caller aborts it on Refused)."""
    store = require_store(core)
    with _INTAKE_LOCK:
        found = existing_item(core, upload.batch.id, upload.sha256)
        if found is not None:
            if streamed is not None:
                streamed.abort()
            record_duplicate(core, found, upload)
            return IntakeResult(found, True)
        # Poster and preview are made while the file is inspected and stored (and dropped if refused).
        with DerivedMedia(upload.path, photo=starts_like_jpeg(upload.path)) as derived:
            if streamed is not None:
                # The last parts go up before inspection loads PyAV (~17 MB + its buffers), once the part
                # buffers are given back: a lower peak of memory for ~0.2 s of waiting.
                streamed.wait_sent()
            info = inspect_file(upload.path, upload.filename, core.settings.zone)
            item_id = _store_and_record(core, store, upload, info, streamed, derived)
    return IntakeResult(item_id, False)


def new_item_name(now: datetime) -> str:
    """``YYYY/MM/DD/<random hex>``: the original is ``items/<name>.<ext>``, poster and preview
    ``posters/<name>.jpg`` and ``previews/<name>.mp4``."""
    return f"{now:%Y/%m/%d}/{uuid.uuid4().hex}"


def item_key(name: str, extension: str) -> str:
    return f"{ITEM_PREFIX}{name}{extension}"


def name_of_key(key: str) -> str:
    """The name in an original's key (``items/<name><ext>``)."""
    return posixpath.splitext(key.removeprefix(ITEM_PREFIX))[0]


def filename_extension(filename: str) -> str | None:
    """``.ext`` (lower case) of an uploaded file's name, if it has a plausible one."""
    match = _EXTENSION.search(filename)
    return "." + match.group(1).lower() if match else None


def content_type_for_name(filename: str) -> str:
    """The content type a file's name suggests (for the S3 object of an original streamed before
    inspection; the item's content type comes from inspection)."""
    extension = filename_extension(filename) or ""
    return _CONTENT_TYPES.get(extension.lstrip("."), "application/octet-stream")


def _store_and_record(
    core: CoreServices,
    store: ObjectStore,
    upload: Uploaded,
    info: MediaInfo,
    streamed: PartSender | None,
    derived: DerivedMedia,
) -> int:
    bucket = core.settings.storage.evidence_bucket
    now = utcnow()
    if streamed is None:
        name = new_item_name(now)
        key = item_key(name, _extension(upload.filename, info))
    else:
        key = streamed.key
        name = name_of_key(key)
    until = now + timedelta(days=upload.batch.retention_days)
    try:
        if streamed is None:
            stored = store.put_file(
                bucket,
                key,
                upload.path,
                content_type=info.content_type,
                metadata={"sha256": upload.sha256, "uploaded-by": upload.uploader},
                part_size=S3_PART_BYTES,
            )
        else:
            stored = streamed.complete()
    except StorageError as exc:
        raise StorageDown(f"evidence storage failed, nothing was stored; try again later ({exc})") from None
    try:
        store.set_retention(bucket, key, RETENTION_MODE, until, version_id=stored.version_id)
        if upload.batch.disputed:
            store.set_legal_hold(bucket, key, True, version_id=stored.version_id)
    except StorageError as exc:
        _delete_unlocked(store, bucket, key, stored.version_id)
        raise StorageDown(f"evidence storage could not lock the file, nothing was stored ({exc})") from None
    poster_key, preview_key = _derived(store, bucket, name, derived, info)
    offset = _clock_offset(core, info.device_serial)
    start, end = _recorded_times(info, offset, now)
    item = EvidenceItem(
        batch_id=upload.batch.id,
        kind=info.kind,
        original_filename=upload.filename[:255],
        content_type=info.content_type,
        size_bytes=upload.size,
        sha256=upload.sha256,
        bucket=bucket,
        object_key=key,
        version_id=stored.version_id,
        uploaded_by=upload.uploader,
        uploaded_at=now,
        device_serial=info.device_serial,
        clock_offset_s=offset if info.started_at else 0.0,
        recorded_start=start,
        recorded_end=end,
        time_source=info.time_source,
        media=info.as_json(),
        poster_key=poster_key,
        preview_key=preview_key,
        retention_until=until,
        legal_hold=upload.batch.disputed,
    )
    with core.db.session() as s:
        s.add(item)
        s.flush()
        item_id = item.id
    detail: dict[str, Any] = {
        "sha256": upload.sha256,
        "size": upload.size,
        "batch": upload.batch.number,
        "filename": upload.filename,
        "kind": info.kind.value,
        "object_key": key,
        "version_id": stored.version_id,
        "retention_until": until,
        "retention_mode": RETENTION_MODE,
        "recorded_start": start,
        "time_source": info.time_source.value,
        "device_serial": info.device_serial,
    }
    core.audit.record(
        upload.uploader,
        "evidence.upload",
        object_type=CUSTODY_OBJECT_TYPE,
        object_id=item_id,
        client=upload.client,
        detail=detail,
    )
    if upload.batch.disputed:
        core.audit.record(
            "system:holds",
            "evidence.hold",
            object_type=CUSTODY_OBJECT_TYPE,
            object_id=item_id,
            detail={"batch": upload.batch.number, "reason": "batch disputed"},
        )
    return item_id


def _extension(filename: str, info: MediaInfo) -> str:
    extension = filename_extension(filename)
    if extension is not None:
        return extension
    return ".jpg" if info.kind is EvidenceKind.PHOTO else ""


def _delete_unlocked(store: ObjectStore, bucket: str, key: str, version_id: str | None) -> None:
    try:
        store.delete(bucket, key, version_id=version_id)
    except StorageError:
        log.exception("could not remove the unlocked object s3://%s/%s (%s)", bucket, key, version_id)


def _derived(
    store: ObjectStore, bucket: str, name: str, derived: DerivedMedia, info: MediaInfo
) -> tuple[str | None, str | None]:
    """Poster and preview objects (not retention-locked: they can be made again from the item)."""
    poster_key = preview_key = None
    poster, preview = derived.results(info.kind, info.duration_s)
    try:
        if poster is not None:
            poster_key = f"posters/{name}.jpg"
            store.put_file(bucket, poster_key, poster, content_type="image/jpeg")
        if preview is not None:
            preview_key = f"previews/{name}.mp4"
            store.put_file(bucket, preview_key, preview, content_type="video/mp4")
    except StorageError as exc:
        log.warning("poster/preview of %s not stored: %s", name, exc)
    return poster_key, preview_key


def _clock_offset(core: CoreServices, serial: str | None) -> float:
    if serial is None:
        return 0.0
    with core.db.sessions() as s:
        row = s.get(DeviceClockOffset, serial)
        return row.offset_s if row is not None else 0.0


def _recorded_times(info: MediaInfo, offset_s: float, now: datetime) -> tuple[datetime, datetime]:
    """Start and end on the yard clock; with no time in the file, the upload time (source 'upload')."""
    if info.started_at is None or info.time_source is TimeSource.UPLOAD:
        start = now
    else:
        start = info.started_at + timedelta(seconds=offset_s)
    return start, start + timedelta(seconds=info.duration_s or 0)
