"""The signed evidence package of a batch, built from real fMP4 segments and body-cam files in SeaweedFS.

The helpers here (a yard with a batch, its footage and body-cam items; building a package) are reused by
test_verify*.py and test_package_api.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from evidence.models import EvidenceItem, EvidenceKind, TimeSource
from evidence.package import PackageBuilder, PackageResult, StorageIntegrityError
from evidence.signing import InstallationKey
from evidence.verify import Outcome, verify_package
from recorder.index import NewSegment, SegmentIndex
from recorder.models import ClockSource, GapReason, Segment, StreamKind
from vms.config import load_settings
from vms.context import CoreServices
from vms.db.models import BatchInspector, BatchStatus, Bay, Camera, InspectionBatch, Site
from vms.storage import EmbeddedSeaweed, ObjectStore

T0 = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai
SEGMENT_SECONDS = 4
GOODS = "冷冻带鱼 / frozen hairtail"
PHOTO_NAME = "现场照片 1.jpg"
VIDEO_NAME = "VID_20250301_080005.mp4"


_SEGMENT_FILES: list[Path] = []


def shared_segment_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four 4 s fragmented-MP4 segments (H.264, a keyframe every second, AAC), made once per session."""
    if not _SEGMENT_FILES:
        out = tmp_path_factory.mktemp("package-segments")
        lavfi = [
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440",
        ]
        codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac"]
        segment = ["-f", "segment", "-segment_time", str(SEGMENT_SECONDS), "-reset_timestamps", "1"]
        fmp4 = ["-segment_format", "mp4", "-segment_format_options", "movflags=frag_keyframe+empty_moov"]
        subprocess.run(
            [
                "ffmpeg",
                "-loglevel",
                "error",
                *lavfi,
                "-t",
                str(4 * SEGMENT_SECONDS),
                *codecs,
                *segment,
                *fmp4,
                str(out / "seg%d.mp4"),
            ],
            check=True,
        )
        _SEGMENT_FILES.extend(sorted(out.glob("seg*.mp4")))
    return _SEGMENT_FILES


@pytest.fixture(scope="session")
def segment_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return shared_segment_files(tmp_path_factory)


@dataclass(frozen=True)
class YardBatch:
    """A batch on a bay with two cameras (cam-a misses 8-12 s: camera offline) and two body-cam items."""

    batch_id: int
    number: str
    bucket: str
    camera_ids: dict[str, int]
    item_ids: dict[str, int]


def make_core(data_dir: Path, store: ObjectStore, database_url: str | None = None) -> CoreServices:
    settings = load_settings(
        None,
        data_dir=str(data_dir),
        database={"url": database_url or f"sqlite:///{data_dir / 'vms.sqlite3'}"},
        recording={"batch_margin_seconds": 1},
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    return CoreServices.create(settings, store=store)


def build_yard_batch(core: CoreServices, files: list[Path]) -> YardBatch:
    assert core.store is not None
    bucket = f"pkg-{uuid.uuid4().hex[:10]}"
    core.store.ensure_bucket(bucket)
    suffix = uuid.uuid4().hex[:4]
    with core.db.session() as s:
        site = Site(code=f"YT{suffix}", name="盐田港查验场")
        cams = [
            Camera(code=f"cam-{n}-{suffix}", name=f"{n}号机位", main_url="rtsp://127.0.0.1:1/c") for n in "ab"
        ]
        bay = Bay(code="B1", name="一号查验位", site=site, cameras=cams)
        batch = InspectionBatch(
            number=f"YT20250301-{suffix}",
            declaration_no="310120250000001",
            containers=["MSKU1234565"],
            goods=GOODS,
            site=site,
            bay=bay,
            planned_start=T0,
            planned_end=T0 + timedelta(seconds=16),
            actual_start=T0 + timedelta(seconds=2),
            actual_end=T0 + timedelta(seconds=14),
            status=BatchStatus.COMPLETED,
            notes="开箱查验，拍照取证",
        )
        batch.inspector_rows = [BatchInspector(username="zhang.san")]
        s.add_all([site, bay, batch])
        s.flush()
        batch_id, number = batch.id, batch.number
        camera_ids = {c.code: c.id for c in cams}
    index = SegmentIndex(core.db)
    for code, camera_id in camera_ids.items():
        slots = [0, 1, 3] if code.startswith("cam-a") else [0, 1, 2, 3]
        for slot in slots:
            store_segment(core, index, bucket, camera_id, slot, files[slot])
        if 2 not in slots:
            index.record_gap(camera_id, StreamKind.MAIN, at(8), at(12), GapReason.CAMERA_OFFLINE)
    photo = os.urandom(20_000)
    item_ids = {
        PHOTO_NAME: add_item(core, bucket, batch_id, PHOTO_NAME, photo, EvidenceKind.PHOTO, at(5), None),
        VIDEO_NAME: add_item(
            core, bucket, batch_id, VIDEO_NAME, files[1].read_bytes(), EvidenceKind.VIDEO, at(5), at(9)
        ),
    }
    core.audit.record(
        "li.na", "dispute", object_type="batch", object_id=str(batch_id), detail={"原因": "货主申诉"}
    )
    return YardBatch(batch_id, number, bucket, camera_ids, item_ids)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def store_segment(
    core: CoreServices, index: SegmentIndex, bucket: str, camera_id: int, slot: int, path: Path
) -> Segment:
    assert core.store is not None
    key = f"{camera_id}/{slot}.mp4"
    core.store.put_file(bucket, key, path, content_type="video/mp4")
    return index.insert_segment(
        NewSegment(
            camera_id=camera_id,
            stream=StreamKind.MAIN,
            start_at=at(slot * SEGMENT_SECONDS),
            end_at=at((slot + 1) * SEGMENT_SECONDS),
            clock_source=ClockSource.RTCP,
            bucket=bucket,
            object_key=key,
            size_bytes=path.stat().st_size,
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            video_codec="h264",
            width=320,
            height=240,
            audio_codec="aac",
        )
    )


def add_item(
    core: CoreServices,
    bucket: str,
    batch_id: int,
    filename: str,
    data: bytes,
    kind: EvidenceKind,
    start: datetime,
    end: datetime | None,
) -> int:
    """A body-cam item as the upload would leave it: the object stored, the row, an upload audit event."""
    assert core.store is not None
    key = f"evidence/{batch_id}/{uuid.uuid4().hex}"
    core.store.put_bytes(bucket, key, data)
    with core.db.session() as s:
        item = EvidenceItem(
            batch_id=batch_id,
            kind=kind,
            original_filename=filename,
            content_type="image/jpeg" if kind is EvidenceKind.PHOTO else "video/mp4",
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            bucket=bucket,
            object_key=key,
            uploaded_by="zhang.san",
            device_serial="BC-0042",
            clock_offset_s=1.5,
            recorded_start=start,
            recorded_end=end,
            time_source=TimeSource.FILENAME,
            media={},
            retention_until=T0 + timedelta(days=1825),
            legal_hold=False,
        )
        s.add(item)
        s.flush()
        item_id = item.id
    core.audit.record(
        "zhang.san", "upload", object_type="evidence", object_id=str(item_id), detail={"filename": filename}
    )
    return item_id


def build_package(core: CoreServices, batch_id: int, target: Path, actor: str = "li.na") -> PackageResult:
    key = InstallationKey.for_settings(core.settings)
    temp_dir = Path(core.settings.data_dir) / "tmp"
    temp_dir.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as f:
        return PackageBuilder(core, key, temp_dir).build(batch_id, f, actor)


def read_manifest(path: Path) -> dict[str, object]:
    with zipfile.ZipFile(path) as z:
        manifest: dict[str, object] = json.loads(z.read("manifest.json"))
    return manifest


# ---- tests -------------------------------------------------------------------------------------------


@pytest.fixture
def package_core(tmp_path: Path, seaweed: EmbeddedSeaweed, database_url: str) -> Iterator[CoreServices]:
    core = make_core(tmp_path / "data", seaweed.object_store(), database_url)
    yield core
    core.db.dispose()


def test_package_holds_clips_bodycam_files_custody_and_a_signed_manifest(
    package_core: CoreServices, segment_files: list[Path], tmp_path: Path
) -> None:
    yard = build_yard_batch(package_core, segment_files)
    target = tmp_path / "package.zip"

    result = build_package(package_core, yard.batch_id, target)

    with zipfile.ZipFile(target) as z:
        names = z.namelist()
        manifest = json.loads(z.read("manifest.json"))
        sums = z.read("SHA256SUMS").decode()
        custody = json.loads(z.read("custody/custody.json"))
        csv_text = z.read("custody/custody.csv").decode("utf-8-sig")
        readme = z.read("README.txt").decode()
        contents = {n: z.read(n) for n in names}
    cam_a, cam_b = sorted(yard.camera_ids)
    photo_id, video_id = yard.item_ids[PHOTO_NAME], yard.item_ids[VIDEO_NAME]
    clip_names = [n for n in names if n.startswith("cameras/")]
    assert [n.split("_")[0] for n in clip_names] == [f"cameras/{cam_a}", f"cameras/{cam_b}"]
    assert all(
        re.fullmatch(r"cameras/cam-.+_20250301T08000[01]_20250301T08001[56]\.mp4", n) for n in clip_names
    )
    assert names == [
        "README.txt",
        *clip_names,
        f"bodycam/{photo_id}_现场照片_1.jpg",
        f"bodycam/{video_id}_{VIDEO_NAME}",
        "custody/custody.json",
        "custody/custody.csv",
        "manifest.json",
        "manifest.sig",
        "public_key.pem",
        "SHA256SUMS",
        "SHA256SUMS.sig",
    ]
    assert result.clips == 2 and result.bodycam_items == 2 and result.size_bytes == target.stat().st_size

    # the manifest: batch data in Chinese, times in UTC and the yard's zone, every file's hash and size
    assert manifest["batch"]["goods"] == GOODS and manifest["batch"]["bay"]["name"] == "一号查验位"
    assert manifest["batch"]["actual_start"] == {
        "utc": "2025-03-01T00:00:02.000Z",
        "local": "2025-03-01T08:00:02.000+08:00",
    }
    assert manifest["window"]["start"]["local"] == "2025-03-01T08:00:01.000+08:00"
    assert manifest["signing_key"]["fingerprint"] == result.fingerprint
    for entry in manifest["files"]:
        data = contents[entry["path"]]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)
        assert f"{entry['sha256']}  {entry['path']}" in sums.splitlines()

    # camera clips: the segments that cover them with their chain hashes, and the gap where cam-a was offline
    clip_a = next(f for f in manifest["files"] if f["path"].startswith(f"cameras/{cam_a}"))
    with package_core.db.sessions() as s:
        rows = {
            seg.id: seg
            for seg in s.scalars(select(Segment).where(Segment.camera_id == yard.camera_ids[cam_a]))
        }
    assert [(seg["id"], seg["sha256"], seg["chain_hash"]) for seg in clip_a["segments"]] == [
        (r.id, r.sha256, r.chain_hash) for r in sorted(rows.values(), key=lambda r: r.seq)
    ]
    camera_a = next(c for c in manifest["cameras"] if c["code"] == cam_a)
    assert [
        (g["start"]["local"][11:19], g["end"]["local"][11:19], g["reason"]) for g in camera_a["gaps"]
    ] == [("08:00:08", "08:00:12", "camera_offline")]
    camera_b = next(c for c in manifest["cameras"] if c["code"] == cam_b)
    assert camera_b["gaps"] == []
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", "-"],
        input=contents[clip_a["path"]],
        capture_output=True,
        check=True,
    )
    assert probe.stderr == b"" and 15 <= float(probe.stdout) <= 17

    # body-cam files byte for byte as uploaded, with their source
    video = next(
        f for f in manifest["files"] if f["kind"] == "bodycam" and f["source"]["item_id"] == video_id
    )
    assert contents[video["path"]] == segment_files[1].read_bytes()
    assert (
        video["source"]["original_filename"] == VIDEO_NAME and video["source"]["uploaded_by"] == "zhang.san"
    )
    assert video["time_range"]["start"]["local"] == "2025-03-01T08:00:05.000+08:00"

    # custody: the upload events of the items and the batch's own events, readable as a table too
    actions = [(e["actor"], e["action"], e["object_type"]) for e in custody["events"]]
    assert actions == [
        ("zhang.san", "upload", "evidence"),
        ("zhang.san", "upload", "evidence"),
        ("li.na", "dispute", "batch"),
    ]
    assert "货主申诉" in csv_text and "zhang.san" in csv_text
    assert yard.number in readme and result.fingerprint in readme

    report = verify_package(target, expect_fingerprint=result.fingerprint)
    assert report.outcome is Outcome.VERIFIED, report.problem
    assert report.batch_number == yard.number and report.warnings == []


def test_a_package_checks_out_with_sha256sum_and_openssl(
    tmp_path: Path, seaweed: EmbeddedSeaweed, segment_files: list[Path]
) -> None:
    core = make_core(tmp_path / "data", seaweed.object_store())
    yard = build_yard_batch(core, segment_files)
    result = build_package(core, yard.batch_id, tmp_path / "package.zip")
    unpacked = tmp_path / "unpacked"

    subprocess.run(["unzip", "-q", str(tmp_path / "package.zip"), "-d", str(unpacked)], check=True)
    sums = run_in(unpacked, "sha256sum -c SHA256SUMS")
    manifest_sig = run_in(
        unpacked,
        "openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile manifest.sig",
    )
    sums_sig = run_in(
        unpacked,
        "openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig",
    )
    fingerprint = run_in(unpacked, "openssl pkey -pubin -in public_key.pem -outform DER | sha256sum")

    assert sums.returncode == 0 and sums.stdout.count(": OK") == 9, sums.stdout
    assert f"bodycam/{yard.item_ids[PHOTO_NAME]}_现场照片_1.jpg: OK" in sums.stdout
    assert manifest_sig.returncode == 0 and "Signature Verified Successfully" in manifest_sig.stdout
    assert sums_sig.returncode == 0 and "Signature Verified Successfully" in sums_sig.stdout
    assert fingerprint.stdout.split()[0] == result.fingerprint

    manifest = unpacked / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b"zhang.san", b"zhang.si"))
    tampered = run_in(
        unpacked,
        "openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile manifest.sig",
    )
    assert tampered.returncode != 0 and "Signature Verification Failure" in tampered.stdout
    core.db.dispose()


def run_in(directory: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, shell=True, cwd=directory, capture_output=True, text=True)


def test_altered_storage_stops_the_build_and_names_the_object(
    tmp_path: Path, seaweed: EmbeddedSeaweed, segment_files: list[Path]
) -> None:
    core = make_core(tmp_path / "data", seaweed.object_store())
    yard = build_yard_batch(core, segment_files)
    assert core.store is not None
    photo_id = yard.item_ids[PHOTO_NAME]
    with core.db.sessions() as s:
        photo = s.get_one(EvidenceItem, photo_id)
    original = core.store.get_bytes(photo.bucket, photo.object_key)
    core.store.put_bytes(photo.bucket, photo.object_key, original[:-1] + bytes([original[-1] ^ 1]))

    with pytest.raises(StorageIntegrityError, match=f"body-cam item {photo_id} .*does not match the SHA-256"):
        build_package(core, yard.batch_id, tmp_path / "p1.zip")

    core.store.put_bytes(photo.bucket, photo.object_key, original)
    cam_b = max(yard.camera_ids)
    segment_key = f"{yard.camera_ids[cam_b]}/2.mp4"
    data = core.store.get_bytes(yard.bucket, segment_key)
    core.store.put_bytes(yard.bucket, segment_key, data[:1000] + bytes([data[1000] ^ 1]) + data[1001:])

    with pytest.raises(StorageIntegrityError, match=f"camera {cam_b}: recorded segment.*do not match"):
        build_package(core, yard.batch_id, tmp_path / "p2.zip")
    core.db.dispose()
