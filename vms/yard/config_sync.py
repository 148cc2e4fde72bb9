"""Apply the config file's ``sites:`` and ``cameras:`` to the database at start.

The rule: the file adds and updates, it never deletes.

* A site, bay or camera in the file that is not in the database is created with the file's values.
* One that exists (same code; bays by site and code) gets the values of the keys **written in the file**;
  keys left out keep what the API set. (An empty ``name`` also counts as left out.)
* A bay's ``cameras:`` are added to its coverage; links made through the API are kept.
* Sites, bays, cameras and links that are only in the database (made through the API or removed from the
  file) are left as they are: remove them through the API or the CLI.

Every change is audited with the actor ``config``; passwords are never written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vms.config import CameraConfig, ConfigError, Settings, SiteConfig
from vms.context import CoreServices
from vms.db.models import Bay, Camera, Site
from vms.secrets import SecretBox
from vms.yard.actor import CONFIG_ACTOR
from vms.yard.changes import diff
from vms.yard.hooks import CAMERA_CHANGED, call_hooks

_CAMERA_FIELDS = ("name", "main_url", "sub_url", "username", "enabled", "retention_days")


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    events: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    changed_cameras: list[int] = field(default_factory=list)

    def note(self, action: str, object_type: str, object_id: str, detail: dict[str, Any]) -> None:
        (self.created if action.endswith("create") else self.updated).append(f"{object_type} {object_id}")
        self.events.append((action, object_type, object_id, detail))


def check_no_url_credentials(settings: Settings) -> None:
    for i, cam in enumerate(settings.cameras):
        for key in ("main_url", "sub_url"):
            url = getattr(cam, key)
            if url and (urlsplit(url).username is not None or urlsplit(url).password is not None):
                raise ConfigError(
                    f"cameras[{i}].{key} (camera {cam.code}): the URL contains a user name or password; "
                    "put them in the camera's username and password keys instead"
                )


def sync_config(core: CoreServices) -> SyncReport:
    """Create and update the file's sites, bays and cameras; return what changed."""
    settings = core.settings
    check_no_url_credentials(settings)
    report = SyncReport()
    with core.db.session() as s:
        sites = {site.code: _sync_site(s, site, report) for site in settings.sites}
        cameras = {cam.code: _sync_camera(s, cam, sites, core.secrets, report) for cam in settings.cameras}
        for site_cfg in settings.sites:
            _sync_bays(s, sites[site_cfg.code], site_cfg, cameras, report)
        s.flush()
        report.changed_cameras = sorted({c.id for c in cameras.values() if _touched(report, c.code)})
    for action, object_type, object_id, detail in report.events:
        core.audit.record(
            CONFIG_ACTOR.name,
            action,
            object_type=object_type,
            object_id=object_id,
            client=CONFIG_ACTOR.client,
            detail=detail,
        )
    for camera_id in report.changed_cameras:
        call_hooks(core.providers, CAMERA_CHANGED, camera_id)
    return report


def _touched(report: SyncReport, code: str) -> bool:
    return any(t == "camera" and oid == code for _, t, oid, _ in report.events)


def _sync_site(s: Session, cfg: SiteConfig, report: SyncReport) -> Site:
    site = s.execute(
        select(Site).options(selectinload(Site.bays).selectinload(Bay.cameras)).where(Site.code == cfg.code)
    ).scalar_one_or_none()
    if site is None:
        site = Site(code=cfg.code, name=cfg.name, bays=[])
        s.add(site)
        report.note("site.create", "site", cfg.code, {"fields": {"code": cfg.code, "name": cfg.name}})
    elif cfg.name and cfg.name != site.name:
        report.note("site.update", "site", cfg.code, {"changes": {"name": [site.name, cfg.name]}})
        site.name = cfg.name
    return site


def _sync_bays(
    s: Session, site: Site, cfg: SiteConfig, cameras: dict[str, Camera], report: SyncReport
) -> None:
    existing = {b.code: b for b in site.bays}
    for bay_cfg in cfg.bays:
        object_id = f"{site.code}/{bay_cfg.code}"
        bay = existing.get(bay_cfg.code)
        if bay is None:
            bay = Bay(code=bay_cfg.code, name=bay_cfg.name, cameras=[])
            site.bays.append(bay)
            fields = {"code": bay_cfg.code, "name": bay_cfg.name, "cameras": bay_cfg.cameras}
            report.note("bay.create", "bay", object_id, {"fields": fields})
        elif bay_cfg.name and bay_cfg.name != bay.name:
            report.note("bay.update", "bay", object_id, {"changes": {"name": [bay.name, bay_cfg.name]}})
            bay.name = bay_cfg.name
        linked = {c.code for c in bay.cameras}
        added = [code for code in bay_cfg.cameras if code not in linked]
        if added and bay.id is not None:
            report.note("bay.cameras", "bay", object_id, {"added": added})
        bay.cameras.extend(cameras[code] for code in added)


def _sync_camera(
    s: Session, cfg: CameraConfig, sites: dict[str, Site], secrets: SecretBox, report: SyncReport
) -> Camera:
    cam = s.execute(select(Camera).where(Camera.code == cfg.code)).scalar_one_or_none()
    site = sites.get(cfg.site) if cfg.site else None
    if cam is None:
        cam = Camera(
            code=cfg.code,
            site=site,
            password_encrypted=secrets.encrypt(cfg.password),
            **{key: getattr(cfg, key) for key in _CAMERA_FIELDS},
        )
        s.add(cam)
        detail = {key: getattr(cfg, key) for key in ("code", "site", *_CAMERA_FIELDS)}
        detail["password"] = "set" if cfg.password is not None else "none"
        report.note("camera.create", "camera", cfg.code, {"fields": detail})
        return cam
    given = cfg.model_fields_set - ({"name"} if not cfg.name else set())
    before = {key: getattr(cam, key) for key in _CAMERA_FIELDS if key in given}
    after = {key: getattr(cfg, key) for key in before}
    changes: dict[str, Any] = diff(before, after)
    for key in changes:
        setattr(cam, key, after[key])
    if "site" in given and site is not None and cam.site_id != site.id:
        changes["site"] = [cam.site.code if cam.site else None, site.code]
        cam.site = site
    if "password" in given and cfg.password is not None and not _stored(secrets, cam, cfg.password):
        cam.password_encrypted = secrets.encrypt(cfg.password)
        changes["password"] = "changed"
    if changes:
        report.note("camera.update", "camera", cfg.code, {"changes": changes})
    return cam


def _stored(secrets: SecretBox, cam: Camera, password: str) -> bool:
    """Whether the camera already holds this password (an undecryptable one is replaced)."""
    try:
        return secrets.decrypt(cam.password_encrypted) == password
    except ValueError:
        return False
