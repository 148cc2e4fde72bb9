"""The ``vms`` command: users, cameras, batch import, audit verify, API keys; errors as one line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from vms.cli.main import cli
from vms.config import load_settings
from vms.context import CoreServices
from vms.db.models import AuditEvent

PASSWORD = "correct-horse-9"
VMS = Path(sys.executable).with_name("vms")


@pytest.fixture
def run(tmp_path: Path, database_url: str) -> Callable[..., Result]:
    config = tmp_path / "vms.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\ndatabase:\n  url: {database_url}\n", encoding="utf-8")

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["--config", str(config), *args], input=stdin)

    return invoke


def _core(run: Callable[..., Result], tmp_path: Path) -> CoreServices:
    return CoreServices.create(load_settings(tmp_path / "vms.yaml"))


def test_user_commands(run: Callable[..., Result], tmp_path: Path) -> None:
    added = run(
        "user",
        "add",
        "zhang",
        "--role",
        "inspector",
        "--display-name",
        "张三",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    prompted = run("user", "add", "wang", "--role", "operator", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    listed = run("user", "list")
    assert "zhang" in listed.output and "张三" in listed.output and "wang" in listed.output
    duplicate = run("user", "add", "zhang", "--role", "inspector", "--password-stdin", stdin=PASSWORD + "\n")
    assert duplicate.exit_code == 1 and "already exists" in duplicate.stderr
    assert "Traceback" not in duplicate.output
    weak = run("user", "add", "li", "--role", "inspector", "--password-stdin", stdin="short\n")
    assert weak.exit_code == 1 and "8 characters" in weak.stderr
    assert run("user", "passwd", "zhang", "--password-stdin", stdin=PASSWORD + "x\n").exit_code == 0
    assert run("user", "passwd", "nobody", "--password-stdin", stdin=PASSWORD + "\n").exit_code == 1
    core = _core(run, tmp_path)
    with core.db.sessions() as s:
        actors = {e.actor for e in s.query(AuditEvent).filter(AuditEvent.action.like("user.%"))}
    assert len(actors) == 1 and next(iter(actors)).startswith("cli:")


def test_camera_commands(run: Callable[..., Result]) -> None:
    added = run(
        "camera",
        "add",
        "C1",
        "--main-url",
        "rtsp://10.0.0.1/main",
        "--name",
        "北门",
        "--username",
        "view",
        "--password-stdin",
        stdin="cam-secret\n",
    )
    assert added.exit_code == 0, added.output
    listed = run("camera", "list")
    assert "北门" in listed.output and "cam-secret" not in listed.output and "set" in listed.output
    refused = run("camera", "add", "C2", "--main-url", "rtsp://a:cam-pw@10.0.0.2/main")
    assert refused.exit_code == 1 and "username and password" in refused.stderr
    assert "cam-pw" not in refused.output
    assert run("camera", "remove", "C1").exit_code == 0
    missing = run("camera", "remove", "C1")
    assert missing.exit_code == 1 and "not found" in missing.stderr


def test_batch_import_reports_rows(run: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "batches.csv"
    path.write_text("number,goods,site\n批次-1,冻肉,\n批次-2,钢材,NOPE\n", encoding="utf-8")
    result = run("batch", "import", str(path))
    assert result.exit_code == 1
    assert "row 2: 批次-1: created" in result.stdout
    assert "row 3: 批次-2: failed: site: unknown site code 'NOPE'" in result.stderr
    assert "1 created, 0 updated, 0 unchanged, 1 failed" in result.stdout
    good = tmp_path / "good.json"
    good.write_text('[{"number": "批次-1", "goods": "冻肉"}]', encoding="utf-8")
    again = run("batch", "import", str(good), "--atomic")
    assert again.exit_code == 0 and "0 created, 0 updated, 1 unchanged" in again.stdout


def test_audit_verify_and_api_keys(run: Callable[..., Result], tmp_path: Path) -> None:
    created = run("apikey", "create", "查验系统")
    assert created.exit_code == 0 and created.stdout.startswith("vmsk_")
    assert "查验系统" in run("apikey", "list").output
    assert run("apikey", "revoke", "查验系统").exit_code == 0
    assert "revoked" in run("apikey", "list").output
    ok = run("audit", "verify")
    assert ok.exit_code == 0 and ok.stdout.startswith("OK: 2 events")
    core = _core(run, tmp_path)
    with core.db.session() as s:
        s.query(AuditEvent).filter_by(seq=1).update({"actor": "mallory"})
    broken = run("audit", "verify")
    assert broken.exit_code == 1 and "#1" in broken.stderr


def test_bad_config_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("storage:\n  endpont: minio:9000\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "user", "list"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "storage.endpont" in result.stderr


def test_real_command_line(tmp_path: Path) -> None:
    helped = subprocess.run([str(VMS), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert helped.returncode == 0 and "batch" in helped.stdout and "audit" in helped.stdout
    config = tmp_path / "bad.yaml"
    config.write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    failed = subprocess.run(
        [str(VMS), "--config", str(config), "audit", "verify"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert failed.returncode == 2
    assert failed.stderr.count("\n") == 1 and "timezone" in failed.stderr and "Traceback" not in failed.stderr
