"""Evidence package API: the installation's public key (anyone may verify), building a batch's signed package
in the background with progress, and downloading it. Building and downloading are audited as ``export``.

``POST /api/batches/{id}/evidence-package`` answers 202 with the job; ``GET /api/evidence-packages/{job}``
reports ``state`` (running, ready, failed), ``percent`` and ``bytes_written``, and once ready whether the
node's own check of the ZIP passed (``verified``, ``verify_problem``); ``GET .../download`` sends the ZIP once
ready. A job is visible to whoever started it (and to admins) for 24 hours.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy import select

from evidence.package_jobs import PackageJob, PackageJobs
from evidence.signing import ALGORITHM, InstallationKey, SigningKeyError
from evidence.verify import Outcome
from vms.api.deps import Core, client_address, public, require
from vms.api.errors import ApiError
from vms.auth import Permission, Principal
from vms.context import CoreServices
from vms.db.models import InspectionBatch, Role

FINGERPRINT_COMMAND = "openssl pkey -pubin -in public_key.pem -outform DER | sha256sum"


def installation_key(request: Request, core: CoreServices) -> InstallationKey:
    """The node's signing key, loaded (or created) once per app."""
    key: InstallationKey | None = getattr(request.app.state, "evidence_signing_key", None)
    if key is None:
        try:
            key = InstallationKey.for_settings(core.settings)
        except SigningKeyError as exc:
            raise ApiError(503, f"the evidence signing key is not usable: {exc}") from None
        request.app.state.evidence_signing_key = key
    return key


def package_jobs(request: Request, core: CoreServices) -> PackageJobs:
    jobs: PackageJobs | None = getattr(request.app.state, "evidence_package_jobs", None)
    if jobs is None:
        jobs = PackageJobs(core, installation_key(request, core))
        request.app.state.evidence_package_jobs = jobs
    return jobs


def evidence_package_router() -> APIRouter:
    """Routes of evidence packages; the assembly includes it in the app."""
    router = APIRouter(tags=["evidence packages"])

    @router.get("/api/evidence/public-key")
    def public_key(request: Request, core: Core, _: None = public()) -> dict[str, str]:
        """The installation's Ed25519 public key that signs evidence packages, and its fingerprint."""
        key = installation_key(request, core)
        return {
            "algorithm": ALGORITHM,
            "fingerprint": key.fingerprint,
            "public_key_pem": key.public_key_pem.decode(),
            "fingerprint_command": FINGERPRINT_COMMAND,
        }

    @router.get("/api/evidence/public-key.pem")
    def public_key_pem(request: Request, core: Core, _: None = public()) -> Response:
        """The same public key as a PEM file (for ``vms verify --public-key``)."""
        key = installation_key(request, core)
        return Response(key.public_key_pem, media_type="application/x-pem-file")

    @router.post("/api/batches/{batch_id}/evidence-package", status_code=202)
    def start_package(
        batch_id: int, request: Request, core: Core, principal: Principal = require(Permission.FOOTAGE_EXPORT)
    ) -> dict[str, Any]:
        """Start building the batch's signed evidence package; poll the returned status URL."""
        if core.store is None:
            raise ApiError(503, "object storage is not configured on this node")
        with core.db.sessions() as s:
            number = s.scalar(select(InspectionBatch.number).where(InspectionBatch.id == batch_id))
        if number is None:
            raise ApiError(404, f"batch {batch_id} not found")
        jobs = package_jobs(request, core)
        job = jobs.create(batch_id, principal.actor)
        _audit(core, principal, request, job, stage="build", batch_number=number)  # before: it is in custody
        jobs.launch(job)
        return _view(job, core.settings.zone)

    @router.get("/api/evidence-packages/{job_id}")
    def package_status(
        job_id: str, request: Request, core: Core, principal: Principal = require(Permission.FOOTAGE_EXPORT)
    ) -> dict[str, Any]:
        """Progress of a package job: state, percent, bytes written; the error if it failed."""
        return _view(_own_job(request, core, principal, job_id), core.settings.zone)

    @router.get("/api/evidence-packages/{job_id}/download")
    def package_download(
        job_id: str, request: Request, core: Core, principal: Principal = require(Permission.FOOTAGE_EXPORT)
    ) -> FileResponse:
        """The finished package ZIP."""
        job = _own_job(request, core, principal, job_id)
        if job.result is None or job.sha256 is None:
            if job.error is not None:
                raise ApiError(409, f"the package could not be built: {job.error}")
            raise ApiError(409, f"the package is not ready yet ({job.percent}%)")
        _audit(
            core,
            principal,
            request,
            job,
            stage="download",
            sha256=job.sha256,
            size_bytes=job.result.size_bytes,
        )
        stamp = job.created_at.astimezone(core.settings.zone).strftime("%Y%m%dT%H%M%S")
        return FileResponse(
            job.path,
            media_type="application/zip",
            filename=f"evidence_{job.result.batch_number}_{stamp}.zip",
            headers={"X-Package-SHA256": job.sha256},
        )

    return router


def _own_job(request: Request, core: CoreServices, principal: Principal, job_id: str) -> PackageJob:
    job = package_jobs(request, core).get(job_id)
    if job is None or (job.requested_by != principal.actor and principal.role is not Role.ADMIN):
        raise ApiError(404, f"evidence package job {job_id!r} not found (it may have expired)")
    return job


def _audit(
    core: CoreServices, principal: Principal, request: Request, job: PackageJob, **detail: Any
) -> None:
    core.audit.record(
        principal.actor,
        "export",
        object_type="batch",
        object_id=str(job.batch_id),
        client=client_address(request),
        detail={"kind": "evidence_package", "job_id": job.id, **detail},
    )


def _view(job: PackageJob, zone: tzinfo) -> dict[str, Any]:
    result = job.result
    return {
        "job_id": job.id,
        "batch_id": job.batch_id,
        "state": str(job.state),
        "percent": job.percent,
        "bytes_written": job.bytes_written,
        "requested_by": job.requested_by,
        "created_at": job.created_at.astimezone(zone).isoformat(),
        "finished_at": None if job.finished_at is None else job.finished_at.astimezone(zone).isoformat(),
        "error": job.error,
        "status_url": f"/api/evidence-packages/{job.id}",
        "download_url": f"/api/evidence-packages/{job.id}/download" if result else None,
        "size_bytes": None if result is None else result.size_bytes,
        "sha256": job.sha256,
        "manifest_sha256": None if result is None else result.manifest_sha256,
        "fingerprint": None if result is None else result.fingerprint,
        "files": None if result is None else result.files,
        # the finished ZIP checked by the node itself, as `vms verify` does, against its own key
        "verified": None if job.verification is None else job.verification.outcome is Outcome.VERIFIED,
        "verify_problem": None if job.verification is None else job.verification.problem,
    }
