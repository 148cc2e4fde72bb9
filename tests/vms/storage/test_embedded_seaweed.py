"""EmbeddedSeaweed: a private SeaweedFS that starts, stops, keeps its data, and never outlives its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from vms.storage import EmbeddedSeaweed, ObjectStore, Retention, SeaweedError, StorageUnavailable
from vms.storage.seaweed import VOLUMES_PER_GROWTH

# SeaweedFS's default HTTP ports (master, volume, filer, S3, WebDAV, admin, Iceberg, Lance); gRPC is +10000.
DEFAULT_HTTP_PORTS = {9333, 8080, 9340, 8888, 8333, 7333, 23646, 8181, 9101}
DEFAULT_PORTS = DEFAULT_HTTP_PORTS | {port + 10000 for port in DEFAULT_HTTP_PORTS}


def listening_ports(pid: int) -> set[tuple[str, int]]:
    """(address, port) of the TCP sockets process ``pid`` listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A = LISTEN
                address_hex, port_hex = local.split(":")
                address = ".".join(str(int(address_hex[i : i + 2], 16)) for i in (6, 4, 2, 0))
                found.add((address if table == "tcp" else address_hex, int(port_hex, 16)))
    return found


def process_is_gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


def wait_until(condition: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_listens_only_on_loopback_and_off_the_default_ports(seaweed: EmbeddedSeaweed) -> None:
    assert seaweed.pid is not None
    sockets = listening_ports(seaweed.pid)

    assert {address for address, _ in sockets} == {"127.0.0.1"}
    ports = {port for _, port in sockets}
    assert ports <= set(seaweed.ports.all())
    assert seaweed.s3_port in ports
    assert not ports & DEFAULT_PORTS


def test_second_instance_runs_beside_the_first(seaweed: EmbeddedSeaweed, tmp_path: Path) -> None:
    with EmbeddedSeaweed(tmp_path / "data", "other-key", "other-secret") as second:
        assert second.endpoint != seaweed.endpoint
        store = second.object_store()
        store.ensure_bucket("only-here")
        assert store.list_buckets() == ["only-here"]
        assert "only-here" not in seaweed.object_store().list_buckets()
        assert second.last_startup_seconds is not None
    assert not second.running


def test_data_and_locks_survive_restart(tmp_path: Path) -> None:
    server = EmbeddedSeaweed(tmp_path / "data", "k", "secret-1", log_path=tmp_path / "weed.log")
    server.start()
    try:
        store = server.object_store()
        store.ensure_bucket("evidence", object_lock=True)
        until = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
        info = store.put_bytes("evidence", "case/1.jpg", b"photo", metadata={"case": "7"})
        store.set_retention("evidence", "case/1.jpg", "COMPLIANCE", until, version_id=info.version_id)
        store.set_legal_hold("evidence", "case/1.jpg", True, version_id=info.version_id)
        endpoint = server.endpoint

        server.stop()
        assert not server.running
        server.start()

        assert server.endpoint == endpoint
        assert store.get_bytes("evidence", "case/1.jpg") == b"photo"  # the same client works again
        assert store.stat("evidence", "case/1.jpg").metadata == {"case": "7"}
        assert store.get_retention("evidence", "case/1.jpg", info.version_id) == Retention(
            "COMPLIANCE", until
        )
        assert store.legal_hold_is_on("evidence", "case/1.jpg", info.version_id)
    finally:
        server.stop()
    assert "starting:" in (tmp_path / "weed.log").read_text()


def test_outage_and_recovery_of_the_session_instance(
    seaweed_restartable: EmbeddedSeaweed, object_store: ObjectStore, bucket: str
) -> None:
    object_store.put_bytes(bucket, "before.txt", b"1")

    seaweed_restartable.kill()
    with pytest.raises(StorageUnavailable, match="not reachable"):
        object_store.put_bytes(bucket, "during.txt", b"2")
    assert not object_store.ping()

    seaweed_restartable.start()
    assert object_store.ping()
    assert object_store.get_bytes(bucket, "before.txt") == b"1"
    object_store.put_bytes(bucket, "after.txt", b"3")


def test_child_dies_when_the_parent_is_killed(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from vms.storage import EmbeddedSeaweed\n"
        "s = EmbeddedSeaweed(sys.argv[1], 'k', 'secret-1')\n"
        "s.start()\n"
        "print(s.pid, *s.ports.all(), flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "data")], stdout=subprocess.PIPE, text=True
    )
    ports: list[int] = []
    try:
        assert parent.stdout is not None
        weed_pid, *ports = (int(word) for word in parent.stdout.readline().split())
        assert not process_is_gone(weed_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert wait_until(lambda: process_is_gone(weed_pid)), "weed outlived its killed parent"
    finally:
        parent.kill()
        parent.wait()
    for port in ports:  # nobody was left to tidy up weed's unix sockets
        for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            leftover.unlink()


def test_a_weed_that_exits_at_once_is_reported_with_its_log(tmp_path: Path) -> None:
    fake = tmp_path / "weed"
    fake.write_text("#!/bin/sh\necho 'fatal: volume directory is broken'\nexit 3\n")
    fake.chmod(0o755)
    server = EmbeddedSeaweed(tmp_path / "data", "k", "s", weed_binary=fake)

    with pytest.raises(SeaweedError, match=r"exited during startup \(exit code 3\)") as error:
        server.start()
    assert "fatal: volume directory is broken" in str(error.value)
    assert not server.running


def test_a_weed_that_never_answers_times_out_and_is_stopped(tmp_path: Path) -> None:
    fake = tmp_path / "weed"
    fake.write_text("#!/bin/sh\necho 'hanging'\nexec sleep 600\n")
    fake.chmod(0o755)
    server = EmbeddedSeaweed(tmp_path / "data", "k", "s", weed_binary=fake)

    with pytest.raises(SeaweedError, match="did not answer S3 requests") as error:
        server.start(timeout=1.0)
    assert "hanging" in str(error.value)
    assert not server.running


def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    server = EmbeddedSeaweed(tmp_path / "data", "k", "s", weed_binary=tmp_path / "no-weed")
    with pytest.raises(SeaweedError, match="not found"):
        server.start()


def test_taken_s3_port_is_a_clear_error(seaweed: EmbeddedSeaweed, tmp_path: Path) -> None:
    server = EmbeddedSeaweed(tmp_path / "data", "k", "s", s3_port=seaweed.s3_port)
    with pytest.raises(SeaweedError, match=f"S3 port {seaweed.s3_port} .* already in use"):
        server.start()


def test_empty_credentials_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        EmbeddedSeaweed(tmp_path, "", "")


def _writable_volumes(server: EmbeddedSeaweed, bucket: str) -> int:
    status = httpx.get(f"http://127.0.0.1:{server.ports.master}/dir/status", timeout=10).json()
    layouts = status["Topology"].get("Layouts") or []
    return sum(len(layout.get("writables") or []) for layout in layouts if layout["collection"] == bucket)


def test_a_bucket_gets_several_volumes_at_once(tmp_path: Path) -> None:
    """weed mini grows a bucket's volumes one at a time, and every write into the bucket waits ~1.1 s for
    each growth; the embedded server grows VOLUMES_PER_GROWTH at once."""
    server = EmbeddedSeaweed(tmp_path / "data", "k", "secret-1", log_path=tmp_path / "weed.log")
    server.start()
    try:
        store = server.object_store()
        store.ensure_bucket("recordings", object_lock=True)
        store.put_bytes("recordings", "cam/1.mp4", b"segment")
        assert _writable_volumes(server, "recordings") == VOLUMES_PER_GROWTH == 7
    finally:
        server.stop()
    with pytest.raises(ValueError, match="volumes_per_growth"):
        EmbeddedSeaweed(tmp_path / "other", "k", "s", volumes_per_growth=0)
