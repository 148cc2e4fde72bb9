"""`vms serve` as an operator starts it: embedded object storage, API up, clean stop on SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

VMS = str(Path(sys.executable).with_name("vms"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_with_embedded_storage_and_stops_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\nhttp:\n  port: {port}\n", encoding="utf-8")
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([VMS, "--config", str(config), "serve"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert health is not None, (tmp_path / "serve.log").read_text()
        assert health.json() == {
            "status": "ok",
            "version": health.json()["version"],
            "database": "ok",
            "object_storage": "ok",
        }
        assert (tmp_path / "data" / "object-storage" / "endpoint").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0, (tmp_path / "serve.log").read_text()
    assert not (tmp_path / "data" / "object-storage" / "endpoint").exists()


def test_serve_with_a_bad_config_says_where_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("http:\n  port: 99999\ncameras:\n  - code: gate-1\n    main_url: http://x/\n")
    result = subprocess.run(
        [VMS, "--config", str(config), "serve"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "http.port" in result.stderr and "cameras[0].main_url" in result.stderr
