"""``vms upload`` against a live server over real HTTP: password login, broken connections resumed,
duplicates and refusals in the summary, exit codes."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient

from evidence.api import evidence_routers
from evidence.tus_client import TusUploader
from tests.evidence.conftest import build_world
from tests.evidence.live_server import BreakingProxy, serving
from tests.evidence.media import ffmpeg
from tests.vms.api.api_helpers import PASSWORD
from vms.api.app import build_api
from vms.cli.upload import upload
from vms.context import CoreServices


def _app(core: CoreServices):  # type: ignore[no-untyped-def]
    return build_api(core, extra_routers=evidence_routers())


def test_upload_resumes_after_broken_connections(
    evidence_core: CoreServices, media: dict[str, Path], tmp_path: Path
) -> None:
    clip = tmp_path / "VID_20261126_150000.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25",
        "-t",
        "3",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-qp",
        "0",
        str(clip),
    )
    app = _app(evidence_core)
    with TestClient(app) as client:
        world = build_world(evidence_core, client)
    with serving(app) as url:
        proxy = BreakingProxy(int(url.rsplit(":", 1)[1]), breaks=2, cut_after=clip.stat().st_size // 3)
        try:
            result = CliRunner().invoke(
                upload,
                [
                    str(clip),
                    str(media["photo"]),
                    "--batch",
                    "查验-001",
                    "--server",
                    f"http://127.0.0.1:{proxy.port}",
                    "--user",
                    "li.na",
                    "--backoff",
                    "0.05",
                    "--chunk-mb",
                    "1",
                ],
                input=f"{PASSWORD}\n",
            )
        finally:
            proxy.close()
    assert result.exit_code == 0, result.output
    assert proxy.cuts == 2
    assert "uploaded 2, already there 0, refused 0, failed 0" in result.output
    with TestClient(app) as client:
        items = client.get("/api/evidence", headers=world.as_("reviewer")).json()["items"]
    by_name = {i["original_filename"]: i for i in items}
    assert by_name[clip.name]["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert by_name[clip.name]["time_source"] == "filename"


def test_summary_and_exit_code(evidence_core: CoreServices, media: dict[str, Path]) -> None:
    app = _app(evidence_core)
    with TestClient(app) as client:
        world = build_world(evidence_core, client)
    token = world.as_("li.na")["Authorization"].split()[1]
    with serving(app) as url:
        first = CliRunner().invoke(
            upload, [str(media["mkv"]), "--batch", "查验-001", "--server", url], env={"VMS_TOKEN": token}
        )
        assert first.exit_code == 0, first.output
        second = CliRunner().invoke(
            upload,
            [
                str(media["mkv"]),
                str(media["text"]),
                str(media["truncated"]),
                "--batch",
                "查验-001",
                "--server",
                url,
                "--token",
                token,
            ],
        )
        not_mine = CliRunner().invoke(
            upload, [str(media["photo"]), "--batch", "查验-002", "--server", url, "--token", token]
        )
    assert second.exit_code == 1
    assert "uploaded 0, already there 1, refused 2, failed 0" in second.output
    assert "not a video or photo" in second.output and "truncated" in second.output
    assert not_mine.exit_code == 1 and "not assigned to batch" in not_mine.output


def test_progress_moves_while_a_chunk_is_sent_and_goes_back_after_a_break(
    evidence_core: CoreServices, tmp_path: Path
) -> None:
    """The progress bar follows the bytes sent within a request, not only the server's answers, and after a
    broken connection it goes back to what the server has."""
    clip = tmp_path / "VID_20261126_160000.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-t", "3",
        "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", str(clip),
    )  # fmt: skip
    size = clip.stat().st_size
    assert size > 3 * 1024 * 1024  # several blocks of the client's reads
    app = _app(evidence_core)
    with TestClient(app) as client:
        world = build_world(evidence_core, client)
    steps: list[int] = []
    with serving(app) as url:
        proxy = BreakingProxy(int(url.rsplit(":", 1)[1]), breaks=1, cut_after=size // 2)
        uploader = TusUploader(
            f"http://127.0.0.1:{proxy.port}", world.as_("li.na"), chunk_size=size, backoff_s=0.05
        )
        try:
            result = uploader.upload(clip, "查验-001", steps.append)
        finally:
            uploader.close()
            proxy.close()
    assert result.outcome == "uploaded", result.message
    positions = list(itertools.accumulate(steps))
    assert positions[-1] == size and max(positions) <= size
    assert any(0 < p < size for p in positions)  # moved during the one request that holds the whole file
    assert any(step < 0 for step in steps)  # the break: back to the server's offset
