"""Configuration errors name the file, the key and the problem; the environment beats the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from vms.config import ConfigError, load_settings

CAMERA = "cameras:\n  - code: C1\n    main_url: rtsp://10.0.0.1/main\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "vms.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return str(info.value)


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "data_dir: /x\nhttp: [\n"))
    assert "vms.yaml" in message and "not valid YAML" in message and "line" in message


def test_unknown_key_names_its_path(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "storage:\n  endpont: minio:9000\n"))
    assert "storage.endpont" in message and "unknown key" in message


def test_bad_camera_url(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "cameras:\n  - code: C1\n    main_url: http://10.0.0.1/\n"))
    assert "cameras[0].main_url" in message and "rtsp" in message


def test_bad_time_zone(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "timezone: Asia/Shangai\n"))
    assert "timezone" in message and "Asia/Shangai" in message


def test_bay_camera_must_be_declared(tmp_path: Path) -> None:
    sites = "sites:\n  - code: QD\n    name: 青岛\n    bays:\n      - code: B1\n        cameras: [C1, C2]\n"
    text = CAMERA + sites
    message = _error(_write(tmp_path, text))
    assert "'C2'" in message and "not declared" in message


def test_missing_file(tmp_path: Path) -> None:
    assert "not found" in _error(tmp_path / "nope.yaml")


def test_environment_beats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "timezone: Asia/Shanghai\nhttp:\n  port: 8080\n" + CAMERA)
    monkeypatch.setenv("VMS_HTTP__PORT", "9090")
    monkeypatch.setenv("VMS_TIMEZONE", "Asia/Hong_Kong")
    settings = load_settings(path)
    assert settings.http.port == 9090 and settings.timezone == "Asia/Hong_Kong"
    assert [c.code for c in settings.cameras] == ["C1"]


def test_chinese_names_load(tmp_path: Path) -> None:
    text = CAMERA.replace("code: C1", "code: C1\n    name: 北门摄像机")
    settings = load_settings(_write(tmp_path, text))
    assert settings.cameras[0].name == "北门摄像机"
