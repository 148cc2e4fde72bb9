"""Clip export from real fMP4 segments in SeaweedFS, checked with ffprobe, by function and through the API."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from recorder.api import recording_router
from recorder.clip import ClipRangeError, NoFootageError, export_clip
from recorder.index import NewSegment, SegmentIndex
from recorder.models import ClockSource, GapReason, StreamKind
from tests.recorder.test_linking import T0, add_camera
from vms.api.app import build_api
from vms.config import Settings
from vms.context import CoreServices
from vms.db.models import AuditEvent, Camera, Role
from vms.storage import ObjectStore

SEGMENT_SECONDS = 10


@pytest.fixture(scope="module")
def segment_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four 10 s fragmented-MP4 segments: H.264 with B-frames, a keyframe every second, AAC audio."""
    out = tmp_path_factory.mktemp("segments")
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=16000",
            "-t",
            str(4 * SEGMENT_SECONDS),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-bf",
            "2",
            "-c:a",
            "aac",
            "-f",
            "segment",
            "-segment_time",
            str(SEGMENT_SECONDS),
            "-reset_timestamps",
            "1",
            "-segment_format",
            "mp4",
            "-segment_format_options",
            "movflags=frag_keyframe+empty_moov+default_base_moof",
            str(out / "seg%d.mp4"),
        ],
        check=True,
    )
    return sorted(out.glob("seg*.mp4"))


@pytest.fixture
def clip_core(
    settings_factory: Callable[..., Settings], tmp_path: Path, object_store: ObjectStore
) -> Iterator[CoreServices]:
    settings = settings_factory(database={"url": f"sqlite:///{tmp_path / 'vms.sqlite3'}"})
    core = CoreServices.create(settings, store=object_store)
    yield core
    core.db.dispose()


def store_segments(
    core: CoreServices, bucket: str, files: list[Path], slots: list[int], code: str = "cam-clip"
) -> int:
    """Upload ``files`` and index them at ``T0 + slot * 10 s`` (a missing slot is a gap)."""
    assert core.store is not None
    camera_id = add_camera(core.db, code)
    index = SegmentIndex(core.db)
    for path, slot in zip(files, slots, strict=False):
        key = f"{camera_id}/{slot}.mp4"
        core.store.put_file(bucket, key, path, content_type="video/mp4")
        start = T0 + timedelta(seconds=slot * SEGMENT_SECONDS)
        index.insert_segment(
            NewSegment(
                camera_id=camera_id,
                stream=StreamKind.MAIN,
                start_at=start,
                end_at=start + timedelta(seconds=SEGMENT_SECONDS),
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
    return camera_id


def probe(path: Path) -> tuple[str, dict[str, object]]:
    """ffprobe's complaints (empty when clean) and its description of the file and its first video packet."""
    run = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            "-show_packets",
            "-select_streams",
            "v:0",
            "-read_intervals",
            "%+#1",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stderr.strip(), json.loads(run.stdout)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_clip_over_three_segments_starts_on_a_keyframe_and_plays(
    clip_core: CoreServices, bucket: str, segment_files: list[Path], tmp_path: Path
) -> None:
    store_segments(clip_core, bucket, segment_files, [0, 1, 2, 3])
    target = tmp_path / "clip.mp4"

    result = export_clip(clip_core, "cam-clip", at(5.5), at(25.3), target)

    errors, info = probe(target)
    assert errors == ""
    assert len(result.segment_ids) == 3
    assert result.start == at(5.0)  # the keyframe at or before 5.5 s (one every second)
    assert result.end >= at(25.3) and result.gaps == []
    duration = float(info["format"]["duration"])  # type: ignore[index]
    assert 25.3 - 5.5 <= duration <= 25.3 - 5.0 + 1.1
    assert info["packets"][0]["flags"].startswith("K")  # type: ignore[index]
    assert {s["codec_name"] for s in info["streams"]} == {"h264"}  # type: ignore[union-attr]
    sidecar = json.loads((tmp_path / "clip.mp4.json").read_text())
    assert sidecar["camera"] == "cam-clip" and sidecar["size_bytes"] == target.stat().st_size
    with clip_core.db.sessions() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.object_id == "cam-clip" and event.detail["size_bytes"] == target.stat().st_size


def test_clip_with_a_gap_plays_and_reports_it(
    clip_core: CoreServices, bucket: str, segment_files: list[Path], tmp_path: Path
) -> None:
    camera_id = store_segments(clip_core, bucket, segment_files, [0, 1, 3])  # nothing for 20-30 s
    SegmentIndex(clip_core.db).record_gap(
        camera_id, StreamKind.MAIN, at(20), at(30), GapReason.CAMERA_OFFLINE
    )
    target = tmp_path / "gap.mp4"

    result = export_clip(clip_core, camera_id, at(12), at(35), target)

    errors, info = probe(target)
    assert errors == ""
    assert [(g.start, g.end, g.reason) for g in result.gaps] == [(at(20), at(30), "camera_offline")]
    duration = float(info["format"]["duration"])  # type: ignore[index]
    assert 35 - 12 <= duration <= 35 - 12 + 1.1  # wall-clock timeline: the gap is a jump, not cut out


def test_bad_ranges_and_missing_footage(
    clip_core: CoreServices, bucket: str, segment_files: list[Path]
) -> None:
    store_segments(clip_core, bucket, segment_files[:1], [0])
    with pytest.raises(ClipRangeError, match="after start"):
        export_clip(clip_core, "cam-clip", at(5), at(1), Path("/nonexistent/x.mp4"))
    with pytest.raises(ClipRangeError, match="at most 6 hours"):
        export_clip(clip_core, "cam-clip", at(0), at(7 * 3600), Path("/nonexistent/x.mp4"))
    with pytest.raises(NoFootageError, match="no footage"):
        export_clip(clip_core, "cam-clip", at(3600), at(3700), Path("/nonexistent/x.mp4"))


def bearer(core: CoreServices, username: str, role: Role) -> dict[str, str]:
    core.auth.create_user(username, "correct-horse-1", role)
    return {"Authorization": f"Bearer {core.auth.login(username, 'correct-horse-1').token}"}


def test_clip_download_through_the_api(
    clip_core: CoreServices, bucket: str, segment_files: list[Path], tmp_path: Path
) -> None:
    camera_id = store_segments(clip_core, bucket, segment_files, [0, 1, 3])
    reviewer = bearer(clip_core, "li.na", Role.REVIEWER)
    operator = bearer(clip_core, "wang.fang", Role.OPERATOR)
    with TestClient(build_api(clip_core, [recording_router()])) as client:
        url = f"/api/cameras/{camera_id}/clip.mp4"
        params = {"start": "2025-03-01T08:00:02+08:00", "end": "2025-03-01T08:00:33+08:00"}
        r = client.get(url, params=params, headers=reviewer)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "video/mp4"
        gaps = json.loads(r.headers["x-clip-gaps"])
        assert [g["reason"] for g in gaps] == ["not_recorded"]
        (tmp_path / "api.mp4").write_bytes(r.content)
        errors, _ = probe(tmp_path / "api.mp4")
        assert errors == ""

        assert client.get(url, params=params, headers=operator).status_code == 403
        late = client.get(
            url,
            params={"start": "2025-03-02T08:00:00+08:00", "end": "2025-03-02T09:00:00+08:00"},
            headers=reviewer,
        )
        assert late.status_code == 404 and "no footage" in late.json()["detail"]
        naive = client.get(
            url, params={"start": "2025-03-01T08:00:00", "end": "2025-03-01T09:00:00+08:00"}, headers=reviewer
        )
        assert naive.status_code == 422 and "offset" in naive.json()["detail"]
        backwards = client.get(url, params={"start": params["end"], "end": params["start"]}, headers=reviewer)
        assert backwards.status_code == 422 and backwards.json()["error"] == "validation_error"
    with clip_core.db.sessions() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
        code = s.get_one(Camera, camera_id).code
    assert event.actor == "li.na" and event.object_id == code
    assert list(tmp_path.parent.glob("**/clip-*.mp4")) == []  # the temporary clip file is gone
