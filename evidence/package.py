"""Builds the signed evidence package of an inspection batch, streaming, into a seekable file.

Order of the ZIP: ``README.txt``, ``cameras/*.mp4`` (joined clips of the footage window), ``bodycam/*``
(items as uploaded), ``custody/custody.json`` and ``.csv``, then ``manifest.json`` (hashes computed while the
members were written), ``manifest.sig``, ``public_key.pem``, ``SHA256SUMS``, ``SHA256SUMS.sig``.
Every stored object is re-hashed while it is copied; if its bytes do not match the hash recorded when it was
stored, building stops with :class:`StorageIntegrityError`. Format: docs/evidence-package.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, BinaryIO

from evidence.models import EvidenceItem
from evidence.package_clips import ClipPackager, StorageIntegrityError
from evidence.package_content import PackageError, PackagePlan, plan_package
from evidence.package_custody import custody_csv, custody_json
from evidence.package_format import (
    CUSTODY_CSV,
    CUSTODY_JSON,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST,
    PUBLIC_KEY,
    README,
    SIGNATURE,
    SUMS,
    SUMS_SIGNATURE,
    manifest_bytes,
    safe_file_name,
    sums_text,
    time_pair,
)
from evidence.package_readme import readme_text
from evidence.package_zip import HashingZipWriter, MemberSizeError, WrittenMember
from evidence.signing import ALGORITHM, InstallationKey
from recorder.index import SegmentIndex
from vms import __version__
from vms.context import CoreServices
from vms.db import utcnow

__all__ = ["PackageBuilder", "PackageError", "PackageResult", "StorageIntegrityError"]

Progress = Callable[[int, int], None]
"""Told ``(done, total)`` work units (bytes of stored objects read, twice for clips: remux and copy)."""


@dataclass(frozen=True, slots=True)
class PackageResult:
    batch_id: int
    batch_number: str
    files: int
    size_bytes: int
    manifest_sha256: str
    fingerprint: str
    cameras: int
    clips: int
    bodycam_items: int


class _Meter:
    """Progress in work units; never reports done >= total before the end."""

    def __init__(self, total: int, report: Progress | None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self._report = report

    def advance(self, units: int) -> None:
        self.done += units
        if self._report is not None:
            self._report(min(self.done, self.total - 1), self.total)

    def finish(self) -> None:
        if self._report is not None:
            self._report(self.total, self.total)


class PackageBuilder:
    """Builds packages of batches with the installation's key."""

    def __init__(self, core: CoreServices, key: InstallationKey, temp_dir: Path) -> None:
        if core.store is None:
            raise PackageError("object storage is not configured on this node")
        self._core = core
        self._store = core.store
        self._key = key
        self._temp_dir = temp_dir
        self._zone = core.settings.zone

    def build(
        self,
        batch_id: int,
        target: BinaryIO,
        actor: str,
        progress: Progress | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> PackageResult:
        """Write the package of ``batch_id`` to ``target`` (seekable); ``on_bytes`` counts bytes written."""
        plan = plan_package(self._core, batch_id)
        meter = _Meter(
            2 * sum(c.planned_bytes for c in plan.cameras) + sum(i.size_bytes for i in plan.items), progress
        )
        generated_at = utcnow()
        writer = HashingZipWriter(target, generated_at.astimezone(self._zone), on_bytes)
        try:
            manifest = self._write_content(plan, writer, meter, actor, generated_at)
            data = manifest_bytes(manifest)
            writer.add_bytes(MANIFEST, data)
            writer.add_bytes(SIGNATURE, self._key.sign(data), compress=False)
            writer.add_bytes(PUBLIC_KEY, self._key.public_key_pem)
            sums = sums_text([(m.sha256, m.path) for m in writer.written if m.path != PUBLIC_KEY]).encode()
            writer.add_bytes(SUMS, sums)
            writer.add_bytes(SUMS_SIGNATURE, self._key.sign(sums), compress=False)
        finally:
            writer.close()
        meter.finish()
        return PackageResult(
            batch_id=batch_id,
            batch_number=plan.batch_number,
            files=len(manifest["files"]),
            size_bytes=target.tell(),
            manifest_sha256=hashlib.sha256(data).hexdigest(),
            fingerprint=self._key.fingerprint,
            cameras=len(manifest["cameras"]),
            clips=sum(1 for f in manifest["files"] if f["kind"] == "camera_clip"),
            bodycam_items=len(plan.items),
        )

    def _write_content(
        self, plan: PackagePlan, writer: HashingZipWriter, meter: _Meter, actor: str, generated_at: datetime
    ) -> dict[str, Any]:
        zone = self._zone
        generated = time_pair(generated_at, zone)
        assert generated is not None
        files: list[dict[str, Any]] = []
        readme = writer.add_bytes(
            README, readme_text(plan.batch_number, generated["local"], self._key.fingerprint).encode()
        )
        files.append(_entry(readme, "readme", {"type": "generator"}))
        cameras: list[dict[str, Any]] = []
        if plan.window is not None:
            clips = ClipPackager(
                self._store, SegmentIndex(self._core.db), self._temp_dir, zone, meter.advance
            )
            for camera in plan.cameras:
                outcome = clips.add_camera(camera, plan.window, writer)
                files.extend(outcome.files)
                cameras.append(outcome.camera)
        for item in plan.items:
            files.append(self._add_item(item, writer, meter))
        custody_source = {"type": "custody", "events": len(plan.custody)}
        for path, data in (
            (CUSTODY_JSON, custody_json(plan.batch_id, plan.batch_number, plan.custody, zone)),
            (CUSTODY_CSV, custody_csv(plan.custody, zone)),
        ):
            files.append(_entry(writer.add_bytes(path, data), "custody", custody_source))
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "generator": {"name": "yard-vms", "version": __version__},
            "generated_at": generated,
            "generated_by": actor,
            "timezone": self._core.settings.timezone,
            "signing_key": {
                "algorithm": ALGORITHM,
                "fingerprint": self._key.fingerprint,
                "public_key_file": PUBLIC_KEY,
            },
            "batch": plan.batch,
            "window": None
            if plan.window is None
            else {
                "start": time_pair(plan.window.start, zone),
                "end": time_pair(plan.window.end, zone),
                "margin_seconds": self._core.settings.recording.batch_margin_seconds,
                "batch_still_open": plan.window.open_end,
            },
            "cameras": cameras,
            "bodycam_removed": [_removed(i, zone) for i in plan.removed_items],
            "files": files,
        }

    def _add_item(self, item: EvidenceItem, writer: HashingZipWriter, meter: _Meter) -> dict[str, Any]:
        path = f"bodycam/{item.id}_{safe_file_name(item.original_filename)}"
        with self._store.open_read(item.bucket, item.object_key, version_id=item.version_id) as reader:
            try:
                member = writer.add_chunks(path, _metered(reader, meter), size=item.size_bytes)
            except MemberSizeError:
                member = None
        if member is None or member.sha256 != item.sha256:
            raise StorageIntegrityError(
                f"body-cam item {item.id} ({item.original_filename}) in object storage does not match the "
                "SHA-256 recorded at upload (storage altered or damaged); the package was not built"
            )
        zone = self._zone
        return _entry(
            member,
            "bodycam",
            {
                "type": "bodycam",
                "item_id": item.id,
                "kind": str(item.kind),
                "original_filename": item.original_filename,
                "content_type": item.content_type,
                "uploaded_by": item.uploaded_by,
                "uploaded_at": time_pair(item.uploaded_at, zone),
                "device_serial": item.device_serial,
                "clock_offset_s": item.clock_offset_s,
                "time_source": str(item.time_source),
                "media": item.media,
            },
            time_range={
                "start": time_pair(item.recorded_start, zone),
                "end": time_pair(item.recorded_end, zone),
            },
        )


def _metered(reader: Any, meter: _Meter) -> Any:
    for chunk in reader:
        meter.advance(len(chunk))
        yield chunk


def _entry(
    member: WrittenMember, kind: str, source: dict[str, Any], time_range: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "path": member.path,
        "kind": kind,
        "sha256": member.sha256,
        "size": member.size,
        "source": source,
        "time_range": time_range,
    }


def _removed(item: EvidenceItem, zone: tzinfo) -> dict[str, Any]:
    return {
        "item_id": item.id,
        "original_filename": item.original_filename,
        "sha256": item.sha256,
        "size": item.size_bytes,
        "deleted_at": time_pair(item.deleted_at, zone),
    }
