"""Poster and preview made by ffmpeg while a file is inspected and stored (``DerivedMedia``)."""

from __future__ import annotations

from pathlib import Path

import av

from evidence.derived import DerivedMedia
from evidence.models import EvidenceKind
from tests.evidence.media import make_clip, make_jpeg


def _size(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.width, stream.codec_context.height


def test_a_video_gets_a_poster_and_a_small_preview(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "VID_20261127_080000.mp4", seconds=2)
    with DerivedMedia(clip, photo=False) as derived:
        poster, preview = derived.results(EvidenceKind.VIDEO, 2.0)
        assert poster is not None and poster.read_bytes()[:3] == b"\xff\xd8\xff"
        assert _size(poster) == (320, 240)
        assert preview is not None and _size(preview) == (320, 240)
        folder = poster.parent
    assert not folder.exists()  # closing removes the files


def test_a_video_shorter_than_two_seconds_gets_its_poster_from_the_middle(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "short.mp4", seconds=0.6)
    with DerivedMedia(clip, photo=False) as derived:
        poster, preview = derived.results(EvidenceKind.VIDEO, 0.6)
        assert poster is not None and _size(poster) == (320, 240)
        assert preview is not None


def test_a_photo_gets_a_poster_and_no_preview(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "IMG_0001.jpg")
    with DerivedMedia(photo, photo=True) as derived:
        poster, preview = derived.results(EvidenceKind.PHOTO, None)
        assert poster is not None and _size(poster) == (320, 240)
        assert preview is None


def test_a_file_that_is_not_media_gets_neither(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 100)
    with DerivedMedia(text, photo=False) as derived:
        assert derived.results(EvidenceKind.VIDEO, None) == (None, None)


def test_closing_before_the_results_stops_the_jobs_and_removes_the_files(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "refused.mp4", seconds=2)
    derived = DerivedMedia(clip, photo=False)
    folder = derived.poster_path.parent
    derived.close()  # e.g. the file was refused by inspection
    assert not folder.exists()
