"""The config file's sites, bays and cameras reach the database; what the API made is never deleted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from vms.config import ConfigError, Settings
from vms.context import CoreServices
from vms.db.models import AuditEvent, Camera
from vms.yard.actor import Actor
from vms.yard.cameras import CameraFields, CameraPatch, CameraService
from vms.yard.config_sync import sync_config
from vms.yard.sites import SiteService

YARD: dict[str, Any] = {
    "sites": [
        {"code": "QD", "name": "青岛前湾", "bays": [{"code": "B1", "name": "一号位", "cameras": ["C1"]}]}
    ],
    "cameras": [
        {
            "code": "C1",
            "name": "北门",
            "site": "QD",
            "main_url": "rtsp://10.0.0.1/main",
            "password": "cam-pass",
        }
    ],
}


def _core_with(core: CoreServices, settings: Settings) -> CoreServices:
    core.settings = settings
    return core


def test_creates_then_keeps_api_changes(
    core: CoreServices, settings_factory: Callable[..., Settings]
) -> None:
    core = _core_with(core, settings_factory(database={"url": core.db.url}, **YARD))
    first = sync_config(core)
    assert sorted(first.created) == ["bay QD/B1", "camera C1", "site QD"]
    api = Actor("admin")
    CameraService(core, api).create(CameraFields(code="C2", main_url="rtsp://10.0.0.2/main"))
    site_id = SiteService(core, api).tree()[0].id
    bay_id = SiteService(core, api).tree()[0].bays[0].id
    SiteService(core, api).set_bay_cameras(site_id, bay_id, ["C1", "C2"])
    CameraService(core, api).update(1, CameraPatch(enabled=False))

    again = sync_config(core)

    assert again.created == [] and again.updated == []
    tree = SiteService(core, api).tree()
    assert tree[0].name == "青岛前湾" and tree[0].bays[0].cameras == ["C1", "C2"]
    cameras = {c.code: c for c in CameraService(core, api).list_all()}
    assert set(cameras) == {"C1", "C2"}
    assert cameras["C1"].enabled is False  # not written in the file: the API's value stays
    with core.db.sessions() as s:
        stored = s.query(Camera).filter_by(code="C1").one()
        assert core.secrets.decrypt(stored.password_encrypted) == "cam-pass"
        details = [e.detail for e in s.query(AuditEvent).filter_by(actor="config")]
    assert "cam-pass" not in str(details)


def test_file_values_win_for_written_keys(
    core: CoreServices, settings_factory: Callable[..., Settings]
) -> None:
    core = _core_with(core, settings_factory(database={"url": core.db.url}, **YARD))
    sync_config(core)
    camera = {**YARD["cameras"][0], "main_url": "rtsp://10.0.0.9/main", "enabled": False}
    changed = {**YARD, "cameras": [camera]}
    core = _core_with(core, settings_factory(database={"url": core.db.url}, **changed))
    report = sync_config(core)
    assert report.updated == ["camera C1"]
    cam = CameraService(core, Actor("t")).get_by_code("C1")
    assert cam.main_url == "rtsp://10.0.0.9/main" and cam.enabled is False


def test_credentials_in_url_refused(core: CoreServices, settings_factory: Callable[..., Settings]) -> None:
    bad = {"cameras": [{"code": "C1", "main_url": "rtsp://admin:pw@10.0.0.1/main"}]}
    core = _core_with(core, settings_factory(database={"url": core.db.url}, **bad))
    with pytest.raises(ConfigError, match="username and password"):
        sync_config(core)
