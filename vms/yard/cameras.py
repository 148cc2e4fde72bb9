"""Cameras: their stream URLs and credentials (encrypted, never shown), site and bays, live status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from vms.config import validate_rtsp_url
from vms.db.models import Bay, Camera, Site
from vms.yard.changes import diff
from vms.yard.errors import Conflict, Invalid, NotFound
from vms.yard.fields import Code, Name, RetentionDays
from vms.yard.hooks import CAMERA_CHANGED, call_hooks
from vms.yard.service import YardService

STATUS_PROVIDER = "camera_status"
CREDENTIALS_IN_URL = (
    "must not contain a user name or password; put them in the username and password fields instead"
)


def check_stream_url(url: str) -> str:
    """An rtsp(s) URL with a host and no embedded credentials."""
    url = url.strip()
    validate_rtsp_url(url)
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise ValueError(CREDENTIALS_IN_URL)
    return url


class _CameraInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("main_url", "sub_url", check_fields=False)
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_stream_url(v)


class CameraFields(_CameraInput):
    code: Code
    name: Name = ""
    site: Code | None = Field(None, description="code of the site the camera stands on")
    main_url: str = Field(max_length=1000, description="rtsp:// URL of the main (recorded) stream")
    sub_url: str | None = Field(None, max_length=1000, description="rtsp:// URL of the low-resolution stream")
    username: str | None = Field(None, max_length=200)
    password: str | None = Field(None, max_length=200, description="stored encrypted; never returned")
    enabled: bool = True
    retention_days: RetentionDays | None = None


class CameraPatch(_CameraInput):
    """Only the fields sent change; ``password: null`` clears the stored password."""

    code: Code | None = None
    name: Name | None = None
    site: Code | None = None
    main_url: str | None = Field(None, max_length=1000)
    sub_url: str | None = Field(None, max_length=1000)
    username: str | None = Field(None, max_length=200)
    password: str | None = Field(None, max_length=200)
    enabled: bool | None = None
    retention_days: RetentionDays | None = None


class CameraView(BaseModel):
    id: int
    code: str
    name: str
    site: str | None
    main_url: str
    sub_url: str | None
    username: str | None
    has_password: bool
    enabled: bool
    retention_days: int | None
    bays: list[str] = Field(description="SITE/BAY codes of the bays this camera covers")
    status: dict[str, Any] | None = Field(description="live status from the recorder; null when unknown")
    created_at: datetime
    updated_at: datetime


_PLAIN_FIELDS = ("code", "name", "main_url", "sub_url", "username", "enabled", "retention_days")


def _snapshot(cam: Camera) -> dict[str, Any]:
    out: dict[str, Any] = {key: getattr(cam, key) for key in _PLAIN_FIELDS}
    out["site"] = cam.site.code if cam.site else None
    return out


class CameraService(YardService):
    def _status(self) -> Callable[[int], dict[str, Any] | None] | None:
        provider = self.core.providers.get(STATUS_PROVIDER)
        return provider if callable(provider) else None

    def view(self, cam: Camera) -> CameraView:
        status = self._status()
        return CameraView(
            **_snapshot(cam),
            id=cam.id,
            has_password=cam.password_encrypted is not None,
            bays=sorted(f"{b.site.code}/{b.code}" for b in cam.bays),
            status=status(cam.id) if status else None,
            created_at=cam.created_at,
            updated_at=cam.updated_at,
        )

    def list_all(self) -> list[CameraView]:
        with self.core.db.sessions() as s:
            cams = s.execute(_query().order_by(Camera.code)).scalars().all()
            return [self.view(c) for c in cams]

    def get(self, camera_id: int) -> CameraView:
        with self.core.db.sessions() as s:
            return self.view(_camera(s, camera_id))

    def get_by_code(self, code: str) -> CameraView:
        with self.core.db.sessions() as s:
            cam = s.execute(_query().where(Camera.code == code)).scalar_one_or_none()
            if cam is None:
                raise NotFound(f"camera {code}")
            return self.view(cam)

    def create(self, fields: CameraFields) -> CameraView:
        with self.core.db.session() as s:
            _code_free(s, fields.code)
            cam = Camera(
                code=fields.code,
                name=fields.name,
                main_url=fields.main_url,
                sub_url=fields.sub_url,
                username=fields.username,
                password_encrypted=self.core.secrets.encrypt(fields.password),
                enabled=fields.enabled,
                retention_days=fields.retention_days,
                site=_site_by_code(s, fields.site),
            )
            s.add(cam)
            s.flush()
            camera_id = cam.id
        detail = fields.model_dump(exclude={"password"})
        detail["password"] = "set" if fields.password is not None else "none"
        self.audit("camera.create", "camera", fields.code, {"fields": detail})
        call_hooks(self.core.providers, CAMERA_CHANGED, camera_id)
        return self.get(camera_id)

    def update(self, camera_id: int, patch: CameraPatch) -> CameraView:
        values = patch.model_dump(exclude_unset=True)
        with self.core.db.session() as s:
            cam = _camera(s, camera_id)
            before = _snapshot(cam)
            for key in ("code", "main_url", "name", "enabled"):
                if values.get(key) is None:
                    values.pop(key, None)  # these cannot be cleared
            if "code" in values and values["code"] != cam.code:
                _code_free(s, values["code"])
            if "site" in values:
                cam.site = _site_by_code(s, values.pop("site"))
            password_note = None
            if "password" in values:
                password = values.pop("password")
                password_note = "cleared" if password is None else "changed"
                cam.password_encrypted = self.core.secrets.encrypt(password)
            for key, value in values.items():
                setattr(cam, key, value)
            changes: dict[str, Any] = diff(before, _snapshot(cam))
            if password_note:
                changes["password"] = password_note
            s.flush()
            code = cam.code
        if changes:
            self.audit("camera.update", "camera", code, {"changes": changes})
            call_hooks(self.core.providers, CAMERA_CHANGED, camera_id)
        return self.get(camera_id)

    def delete(self, camera_id: int) -> None:
        try:
            with self.core.db.session() as s:
                cam = _camera(s, camera_id)
                code = cam.code
                s.delete(cam)
                s.flush()
        except IntegrityError:
            raise Conflict(
                f"camera {code} has recordings and cannot be deleted; disable it instead (enabled: false)"
            ) from None
        self.audit("camera.delete", "camera", code, {})
        call_hooks(self.core.providers, CAMERA_CHANGED, camera_id)


def _query() -> Any:
    return select(Camera).options(selectinload(Camera.site), selectinload(Camera.bays).selectinload(Bay.site))


def _camera(s: Session, camera_id: int) -> Camera:
    cam: Camera | None = s.execute(_query().where(Camera.id == camera_id)).scalar_one_or_none()
    if cam is None:
        raise NotFound(f"camera {camera_id}")
    return cam


def _code_free(s: Session, code: str) -> None:
    if s.execute(select(Camera.id).where(Camera.code == code)).first() is not None:
        raise Conflict(f"a camera with code {code} already exists")


def _site_by_code(s: Session, code: str | None, field: str = "site") -> Site | None:
    if code is None:
        return None
    site = s.execute(select(Site).where(Site.code == code)).scalar_one_or_none()
    if site is None:
        raise Invalid(field, f"unknown site code {code!r}")
    return site
