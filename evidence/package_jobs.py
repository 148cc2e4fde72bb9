"""Evidence packages built in the background: one thread per job (at most ``workers`` at a time), progress
readable while it runs, the finished ZIP kept under ``<data_dir>/tmp/evidence-packages`` for ``keep``."""

from __future__ import annotations

import enum
import hashlib
import logging
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from evidence.package import PackageBuilder, PackageError, PackageResult
from evidence.signing import InstallationKey
from evidence.verify import VerifyReport, verify_package
from vms.context import CoreServices
from vms.db import utcnow
from vms.storage import StorageError, StorageUnavailable

log = logging.getLogger("evidence.package_jobs")

DEFAULT_KEEP = timedelta(hours=24)
_HASH_CHUNK = 1024 * 1024


class JobState(enum.StrEnum):
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


@dataclass(slots=True)
class PackageJob:
    """One package being built; ``path`` is the ZIP (complete only when READY)."""

    id: str
    batch_id: int
    requested_by: str
    path: Path
    created_at: datetime = field(default_factory=utcnow)
    state: JobState = JobState.RUNNING
    done_units: int = 0
    total_units: int = 1
    bytes_written: int = 0
    error: str | None = None
    error_status: int | None = None
    result: PackageResult | None = None
    sha256: str | None = None
    verification: VerifyReport | None = None  # the finished ZIP checked as `vms verify` would, with our key
    finished_at: datetime | None = None
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def percent(self) -> int:
        if self.state is JobState.READY:
            return 100
        return min(99, self.done_units * 100 // max(self.total_units, 1))


class PackageJobs:
    """Starts and tracks package jobs of one node."""

    def __init__(
        self,
        core: CoreServices,
        key: InstallationKey,
        directory: Path | None = None,
        keep: timedelta = DEFAULT_KEEP,
        workers: int = 2,
    ) -> None:
        self._core = core
        self._key = key
        self.directory = directory or Path(core.settings.data_dir) / "tmp" / "evidence-packages"
        self.directory.mkdir(parents=True, exist_ok=True)
        self._keep = keep
        self._slots = threading.BoundedSemaphore(workers)
        self._jobs: dict[str, PackageJob] = {}
        self._lock = threading.Lock()

    def create(self, batch_id: int, actor: str) -> PackageJob:
        """Register a job for the package of ``batch_id``; :meth:`launch` starts building it."""
        self.sweep()
        job_id = secrets.token_hex(12)
        job = PackageJob(job_id, batch_id, actor, self.directory / f"{job_id}.zip")
        with self._lock:
            self._jobs[job_id] = job
        return job

    def launch(self, job: PackageJob) -> None:
        """Build the job's package in a background thread."""
        threading.Thread(
            target=self._run, args=(job,), name=f"evidence-package-{job.id}", daemon=True
        ).start()

    def start(self, batch_id: int, actor: str) -> PackageJob:
        job = self.create(batch_id, actor)
        self.launch(job)
        return job

    def get(self, job_id: str) -> PackageJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def wait(self, job_id: str, timeout: float) -> PackageJob | None:
        """Block until the job is no longer running (or ``timeout`` seconds passed); returns it."""
        job = self.get(job_id)
        if job is not None:
            job.finished.wait(timeout)
        return job

    def sweep(self) -> int:
        """Forget jobs finished more than ``keep`` ago and delete their files; also stray old files."""
        cutoff = utcnow() - self._keep
        with self._lock:
            old = [j for j in self._jobs.values() if j.finished_at is not None and j.finished_at < cutoff]
            for job in old:
                del self._jobs[job.id]
            live = {j.path.name for j in self._jobs.values()}
        for job in old:
            job.path.unlink(missing_ok=True)
        strays = 0
        for path in self.directory.glob("*.zip"):
            if path.name not in live and path.stat().st_mtime < cutoff.timestamp():
                path.unlink(missing_ok=True)
                strays += 1
        return len(old) + strays

    def _run(self, job: PackageJob) -> None:
        with self._slots:
            try:
                self._build(job)
            except PackageError as exc:
                self._failed(job, str(exc), exc.status)
            except StorageUnavailable as exc:
                self._failed(job, f"object storage is unavailable: {exc}", 503)
            except StorageError as exc:
                self._failed(job, f"a stored file could not be read: {exc}", 503)
            except Exception as exc:
                log.exception("evidence package %s of batch %s failed", job.id, job.batch_id)
                self._failed(job, f"unexpected error: {type(exc).__name__}: {exc}", 500)

    def _build(self, job: PackageJob) -> None:
        temp_dir = Path(self._core.settings.data_dir) / "tmp"

        def progress(done: int, total: int) -> None:
            job.done_units, job.total_units = done, total

        def wrote(n: int) -> None:
            job.bytes_written += n

        builder = PackageBuilder(self._core, self._key, temp_dir)
        with job.path.open("wb") as f:
            result = builder.build(job.batch_id, f, job.requested_by, progress, wrote)
        job.sha256 = _file_sha256(job.path)
        job.verification = verify_package(job.path, trusted_key=self._key.public_key)
        job.result = result
        job.finished_at = utcnow()
        job.state = JobState.READY
        job.finished.set()
        log.info(
            "evidence package %s of batch %s ready: %d bytes", job.id, result.batch_number, result.size_bytes
        )

    def _failed(self, job: PackageJob, message: str, status: int) -> None:
        job.path.unlink(missing_ok=True)
        job.error, job.error_status = message, status
        job.finished_at = utcnow()
        job.state = JobState.FAILED
        job.finished.set()
        log.warning("evidence package %s of batch %s failed: %s", job.id, job.batch_id, message)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
