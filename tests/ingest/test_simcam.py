import subprocess
from pathlib import Path

import pytest

from tests.fixtures.cameras import CameraServerFactory
from vms.demo.simcam import CameraServerError, CameraSpec, SimulatedCamera, sample_video


def probe(url: str) -> str:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries", "stream=codec_name",
         "-of", "csv=p=0", url],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    return result.stdout.strip() or result.stderr.strip()


def test_one_process_serves_several_cameras(camera_server_factory: CameraServerFactory) -> None:
    server = camera_server_factory(
        [CameraSpec(mount="/gate"), CameraSpec(mount="/crane", codec="h265", audio="pcma")]
    )
    assert probe(server.url("/gate")) == "h264"
    assert probe(server.url("/crane")).split() == ["hevc", "pcm_alaw"]


def test_restart_keeps_the_same_port() -> None:
    with SimulatedCamera() as camera:
        url = camera.url()
        camera.stop()
        assert not camera.running
        assert "Connection refused" in probe(url)
        camera.start()
        assert camera.url() == url
        assert probe(url) == "h264"


def test_protected_camera_needs_its_credentials() -> None:
    with SimulatedCamera(CameraSpec(username="op@yard", password="p@ss:w/rd", auth="digest")) as camera:
        assert "401" in probe(camera.url())
        assert probe(camera.url(with_credentials=True)) == "h264"


def test_failed_start_shows_the_log() -> None:
    camera = SimulatedCamera(CameraSpec(codec="h265", width=7, height=7))  # x265 refuses 7x7 pictures
    with pytest.raises(CameraServerError, match="did not answer DESCRIBE"):
        camera.start(timeout=4)
    camera.close()


@pytest.mark.slow
def test_looped_file_camera_serves_the_benchmark_sample(tmp_path: Path) -> None:
    sample = sample_video(cache_dir=tmp_path, width=640, height=360, bitrate_kbps=1000, seconds=2)
    with SimulatedCamera(CameraSpec(file=sample, width=640, height=360)) as camera:
        assert probe(camera.url()) == "h264"
