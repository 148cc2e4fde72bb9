"""Smoke tests of the replay and footage-lookup benchmark harnesses (bench.replay_seek, bench.index_lookup)
at tiny scale, so they cannot rot."""

from __future__ import annotations

from pathlib import Path

import av

from bench import index_lookup, replay_seek
from tests.viewer.replay_fixtures import read_number


def test_numbered_footage_reads_back(tmp_path: Path) -> None:
    """The numbers painted on the sample are read by the replay client's reader (and by ffmpeg's path)."""
    variant = replay_seek.VARIANTS["240p"]
    path = replay_seek.numbered_footage(variant, 3, "ultrafast", tmp_path)
    with av.open(str(path), format="h264") as src:
        frames = list(src.decode(video=0))
    assert len(frames) == 3 * replay_seek.FPS
    assert [read_number(f) for f in frames] == list(range(len(frames)))
    luma = frames[7].reformat(format="gray")
    plane = luma.planes[0]
    assert replay_seek.number_in_luma(bytes(plane), plane.line_size, variant.width, variant.height) == 7


def test_replay_bench_produces_figures(tmp_path: Path) -> None:
    config = replay_seek.BenchConfig(
        seconds=20,
        cameras=2,
        seeks=3,
        starts=1,
        seek_lanes=(1, 2),
        references=1,
        variants=("240p",),
        preset="ultrafast",
        workdir=tmp_path,
        cache_dir=tmp_path / "cache",
    )

    report = replay_seek.run_benchmark(config)

    (result,) = report["variants"]
    assert result["segments"] == 4
    for lanes in ("1", "2"):
        seeks = result["seeks"][lanes]
        assert seeks["all_lanes_ms"]["n"] + seeks["failed"] == 3
        assert seeks["all_lanes_ms"]["median"] > 0 and seeks["seeked_ms"]["n"] >= 1
    assert result["start_all_lanes_ms"]["n"] + result["failed_starts"] == 1
    assert result["reference_frames_right"] == result["reference_count"] == 1
    assert "| seek, 2 lane(s): -> frame T decoded, every lane" in replay_seek.markdown_table(report)
    assert not list(tmp_path.glob("replay-bench-*")), "the work directory is removed"


def test_index_lookup_bench_produces_figures(tmp_path: Path) -> None:
    config = index_lookup.LookupConfig(
        backends=("sqlite",),
        cameras=8,
        sqlite_days=(1, 2),
        batches_per_day=16,
        lookups=3,
        listing_cameras=4,
        listing_hours=2,
        listing_windows=2,
        workdir=tmp_path,
    )

    report = index_lookup.run_benchmark(config)

    (backend,) = report["backends"]
    assert [step["days"] for step in backend["steps"]] == [1, 2]
    last = backend["steps"][-1]
    assert last["size"]["segments"] == 2 * 8 * (index_lookup.PER_DAY - index_lookup.GAP_SEGMENTS)
    assert last["api_repeat_ms"]["n"] == 3 and last["segments_per_batch"]["median"] > 0
    assert all(check["added"] == check["removed"] == 0 for check in last["link_check"])
    assert report["listing"]["window_segments_found"]["median"] > 0
    assert "| sqlite, 2 |" in index_lookup.markdown_table(report)
