"""The pieces of live view that need no camera: H.264 parameter sets, profile negotiation, the RTP clock,
settings, ICE host addresses and the hub lookup."""

from __future__ import annotations

import asyncio
import concurrent.futures
from types import SimpleNamespace

import aioice.ice
import pytest
from aiortc import RTCPeerConnection

from ingest.hub import StreamHub
from viewer.webrtc.codecs import (
    UnsupportedCodec,
    answer_with_profile,
    answered_profile_level_id,
    camera_profile_level_id,
    check_playable,
    choose_codec,
    profile_level_id_from_sps,
    register_h264_profiles,
)
from viewer.webrtc.h264 import ParameterSets, extradata_to_annex_b, nal_type, nal_units, with_parameter_sets
from viewer.webrtc.hubs import STREAM_HUBS_PROVIDER, StreamName, find_hub
from viewer.webrtc.ice import LOOPBACK, rtc_configuration, use_host_addresses
from viewer.webrtc.settings import LiveSettings, live_settings
from viewer.webrtc.timeline import Timeline

SPS_HIGH_40 = bytes.fromhex("6764002837ac2b")  # High, level 4.0
PPS = bytes.fromhex("68ee3cb0")
IDR = bytes.fromhex("6588840021")
SLICE = bytes.fromhex("419a2244")


def _annex_b(*units: bytes) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + unit for unit in units)


def _offer(*profile_level_ids: str) -> str:
    lines = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0"]
    pts = " ".join(str(100 + i) for i in range(len(profile_level_ids)))
    lines += [f"m=video 9 UDP/TLS/RTP/SAVPF 96 {pts}", "c=IN IP4 0.0.0.0", "a=mid:0", "a=recvonly"]
    lines += ["a=rtpmap:96 VP8/90000"]
    for i, plid in enumerate(profile_level_ids):
        lines += [
            f"a=rtpmap:{100 + i} H264/90000",
            f"a=fmtp:{100 + i} level-asymmetry-allowed=1;packetization-mode=1;profile-level-id={plid}",
        ]
    return "\r\n".join(lines) + "\r\n"


def test_nal_units_are_split_on_3_and_4_byte_start_codes() -> None:
    stream = b"\x00\x00\x00\x01" + SPS_HIGH_40 + b"\x00\x00\x01" + PPS + b"\x00\x00\x00\x01" + IDR
    assert list(nal_units(stream)) == [SPS_HIGH_40, PPS, IDR]
    assert [nal_type(unit) for unit in nal_units(stream)] == [7, 8, 5]


def test_keyframes_without_sps_pps_get_them_and_others_are_left_alone() -> None:
    sets = ParameterSets.from_extradata(_annex_b(SPS_HIGH_40, PPS))
    bare_keyframe = _annex_b(b"\x09\xf0", IDR)
    repaired = with_parameter_sets(bare_keyframe, sets)
    assert [nal_type(unit) for unit in nal_units(repaired)] == [7, 8, 9, 5]
    complete = _annex_b(SPS_HIGH_40, PPS, IDR)
    assert with_parameter_sets(complete, sets) is complete
    assert with_parameter_sets(bare_keyframe, ParameterSets()) is bare_keyframe


def test_avcc_extradata_is_converted_and_in_band_sets_replace_older_ones() -> None:
    avcc = bytes([1, 0x64, 0, 0x28, 0xFF, 0xE1]) + len(SPS_HIGH_40).to_bytes(2, "big") + SPS_HIGH_40
    avcc += bytes([1]) + len(PPS).to_bytes(2, "big") + PPS
    assert extradata_to_annex_b(avcc) == _annex_b(SPS_HIGH_40, PPS)
    sets = ParameterSets.from_extradata(avcc)
    newer_sps = bytes.fromhex("674d001fabcd")
    assert sets.updated_from(_annex_b(newer_sps, IDR)) == ParameterSets(newer_sps, PPS)
    assert sets.updated_from(_annex_b(SLICE)) is sets


def test_profile_level_id_comes_from_the_sps_or_ffmpegs_profile_name() -> None:
    assert profile_level_id_from_sps(SPS_HIGH_40) == "640028"
    assert profile_level_id_from_sps(PPS) is None
    assert camera_profile_level_id(b"", "Main") == "4d001f"
    assert camera_profile_level_id(b"", None) == "42e01f"


def test_the_cameras_profile_is_chosen_and_its_real_level_answered() -> None:
    codec = choose_codec(_offer("42e01f", "4d001f", "64001f"), "640028")
    assert codec.exact and codec.offered_profile_level_id == "64001f"
    assert codec.capability.parameters["profile-level-id"] == "64001f"
    answer = "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f\r\n"
    assert answer_with_profile(answer, codec).endswith("profile-level-id=640028\r\n")
    # Constrained Baseline cameras get the browser's CB entry, with their level.
    assert choose_codec(_offer("42001f", "42e01f"), "42c01e").offered_profile_level_id == "42e01f"


def test_a_browser_without_the_cameras_profile_gets_the_closest_entry_it_offered() -> None:
    # Chromium 156: no High entry. A High camera goes on Main (not High 4:4:4, which it does not decode).
    codec = choose_codec(_offer("42001f", "42e01f", "4d001f", "f4001f"), "640028")
    assert not codec.exact and not codec.decodable
    assert codec.answer_profile_level_id == "4d001f"
    with pytest.raises(UnsupportedCodec, match=r"no H\.264"):
        choose_codec(_offer(), "42e01f")


def test_codecs_browsers_cannot_play_are_refused_in_plain_words() -> None:
    with pytest.raises(UnsupportedCodec, match=r"H\.265 \(HEVC\) cannot be played in the browser"):
        check_playable("hevc")
    with pytest.raises(UnsupportedCodec, match=r"6e0028"):
        check_playable("h264", "6e0028")
    check_playable("h264", "640028")


def test_aiortc_offers_high_profile_once_registered() -> None:
    register_h264_profiles()
    register_h264_profiles()  # idempotent

    async def make_offer() -> str:
        pc = RTCPeerConnection()
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        await pc.close()
        return str(pc.localDescription.sdp)

    # In a thread of its own: the browser tests keep an event loop open in the main thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        offer = pool.submit(asyncio.run, make_offer()).result(timeout=30)
    assert offer.count("profile-level-id=64001f") == 1
    assert answered_profile_level_id(offer) == "42001f"  # aiortc's first H.264 entry


def test_timestamps_stay_monotonic_across_a_camera_restart() -> None:
    timeline = Timeline()
    now = 100.0
    out = [timeline.place(pts, now=now, backlog_left=False).rtp_time for pts in (9000, 12600, 16200)]
    assert out == [0, 3600, 7200]
    timeline.restart()  # the camera came back 2 s later with its clock starting over
    resumed = timeline.place(0, now=now + 2.0, backlog_left=False).rtp_time
    assert resumed == 7200 + 2 * 90000
    assert timeline.place(3600, now=now + 2.04, backlog_left=False).rtp_time == resumed + 3600


def test_the_cached_gop_is_played_fast_until_the_viewer_is_live() -> None:
    timeline = Timeline(catch_up_speed=8)
    placements = [timeline.place(pts, now=50.0, backlog_left=True) for pts in range(0, 72000, 3600)]
    assert [p.rtp_time for p in placements[:3]] == [0, 450, 900]
    assert placements[-1].send_at == pytest.approx(50.0 + 68400 / 90000 / 8)
    last = timeline.place(72000, now=50.1, backlog_left=False)  # the queue ran dry: live from here on
    assert not timeline.catching_up
    assert timeline.place(75600, now=50.14, backlog_left=False).rtp_time == last.rtp_time + 3600


def test_settings_come_from_the_viewer_section_when_the_config_has_one() -> None:
    assert live_settings(SimpleNamespace()) == LiveSettings()
    section = SimpleNamespace(
        ice_servers=[SimpleNamespace(urls=["turn:turn.yard:3478"], username="u", credential="p")],
        ice_host_addresses=["10.1.2.3"],
        ice_loopback=False,
        max_live_sessions=8,
        live_connect_timeout_seconds=5,
    )
    settings = live_settings(SimpleNamespace(viewer=section))
    assert settings.ice_servers[0].urls == ("turn:turn.yard:3478",)
    assert (settings.ice_host_addresses, settings.ice_loopback, settings.max_sessions) == (
        ("10.1.2.3",),
        False,
        8,
    )
    configuration = rtc_configuration(settings)
    assert configuration.iceServers is not None and configuration.iceServers[0].username == "u"
    assert rtc_configuration(LiveSettings()).iceServers == []  # never aiortc's default public STUN server


def test_host_addresses_are_the_configured_ones_plus_loopback() -> None:
    original = aioice.ice.get_host_addresses
    try:
        use_host_addresses(LiveSettings(ice_host_addresses=("192.168.10.5",)))
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["192.168.10.5", LOOPBACK]
        use_host_addresses(LiveSettings(ice_loopback=False))
        assert LOOPBACK not in aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
    finally:
        aioice.ice.get_host_addresses = original


def test_a_camera_without_a_sub_stream_serves_its_main_stream_to_wall_tiles() -> None:
    main = StreamHub("c/main")
    providers = {STREAM_HUBS_PROVIDER: lambda camera_id, stream: main if stream == "main" else None}
    found = find_hub(providers, 1, StreamName.SUB)
    assert found is not None and found.hub is main and found.stream is StreamName.MAIN
    assert find_hub({}, 1, StreamName.MAIN) is None
