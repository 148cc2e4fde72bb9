"""Which H.264 the browser is sent: the camera's real profile-level-id, negotiated with aiortc.

aiortc advertises only Constrained Baseline and Baseline (``42e01f``/``42001f``) and, when answering, copies
its own codec entry into the answer. :func:`register_h264_profiles` adds Main, Constrained High and High
entries to aiortc's codec table (once per process). :func:`choose_codec` picks, among the entries the
browser offered, the camera's own profile, else one whose decoders also decode the camera's profile, else
the most capable 8-bit 4:2:0 one. :func:`answer_with_profile` then puts the camera's exact
profile-level-id (its real level) in the answer when the profiles match.

Debian's Chromium 156 offers 42001f, 42e01f, 4d001f and f4001f (High 4:4:4 Predictive) but no High entry:
a High camera is sent on its Main entry, which it decodes (its software decoder takes any 8-bit 4:2:0
stream); on its f4001f entry it receives the packets but decodes nothing, so that entry is never used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiortc.codecs import CODECS
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecCapability, RTCRtpCodecParameters
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.sdp import H264Profile, SessionDescription, parse_h264_profile_level_id

from viewer.webrtc.h264 import NAL_SPS, nal_type

H264_MIME = "video/H264"
DEFAULT_PROFILE_LEVEL_ID = "42e01f"
# One entry per profile is enough: codecs are matched on profile and packetization mode, not on level.
EXTRA_PROFILE_LEVEL_IDS = ("4d001f", "640c1f", "64001f")
_PROFILE_NAMES = {
    H264Profile.PROFILE_CONSTRAINED_BASELINE: "Constrained Baseline",
    H264Profile.PROFILE_BASELINE: "Baseline",
    H264Profile.PROFILE_MAIN: "Main",
    H264Profile.PROFILE_CONSTRAINED_HIGH: "Constrained High",
    H264Profile.PROFILE_HIGH: "High",
    H264Profile.PROFILE_PREDICTIVE_HIGH_444: "High 4:4:4 Predictive",
}
# FFmpeg's profile names (VideoTrack.profile), for a camera whose SPS has not been seen.
_FFMPEG_PROFILES = {
    "constrained baseline": "42e01f",
    "baseline": "42001f",
    "main": "4d001f",
    "high": "64001f",
}
_P = H264Profile
# Which decoders (by profile) also decode a stream of a profile: the profile hierarchy of H.264 Annex A.
# (High 4:4:4 Predictive is left out: browsers do not decode ordinary streams on that entry.)
_DECODED_BY: dict[H264Profile, frozenset[H264Profile]] = {
    _P.PROFILE_CONSTRAINED_BASELINE: frozenset(
        {
            _P.PROFILE_CONSTRAINED_BASELINE,
            _P.PROFILE_BASELINE,
            _P.PROFILE_MAIN,
            _P.PROFILE_CONSTRAINED_HIGH,
            _P.PROFILE_HIGH,
        }
    ),
    _P.PROFILE_BASELINE: frozenset({_P.PROFILE_BASELINE}),
    _P.PROFILE_MAIN: frozenset({_P.PROFILE_MAIN, _P.PROFILE_HIGH}),
    _P.PROFILE_CONSTRAINED_HIGH: frozenset({_P.PROFILE_CONSTRAINED_HIGH, _P.PROFILE_HIGH}),
    _P.PROFILE_HIGH: frozenset({_P.PROFILE_HIGH}),
}
# Cameras of these profiles can be shown (8-bit 4:2:0); anything else (High 10, 4:2:2...) cannot.
_PLAYABLE = frozenset(_DECODED_BY)
# Last resort when the browser offers no profile that decodes the camera's: the most capable one offered.
_CAPABILITY_ORDER = (
    _P.PROFILE_HIGH,
    _P.PROFILE_CONSTRAINED_HIGH,
    _P.PROFILE_MAIN,
    _P.PROFILE_BASELINE,
    _P.PROFILE_CONSTRAINED_BASELINE,
)
CODEC_LABELS = {"hevc": "H.265 (HEVC)", "h265": "H.265 (HEVC)", "mjpeg": "MJPEG", "mpeg4": "MPEG-4 Part 2"}


class UnsupportedCodec(Exception):
    """The camera's stream cannot be played in this browser; the message says why, for the user."""

    def __init__(self, message: str, codec: str) -> None:
        super().__init__(message)
        self.codec = codec


@dataclass(frozen=True, slots=True)
class NegotiatedCodec:
    """The codec one viewer gets: what aiortc sends and what the answer announces."""

    capability: RTCRtpCodecCapability
    camera_profile_level_id: str
    """What the camera sends (from its SPS)."""
    offered_profile_level_id: str
    """The browser's offered entry that was accepted."""
    exact: bool
    """Whether the browser offered the camera's own profile."""
    decodable: bool
    """Whether decoders of the accepted profile decode the camera's profile (true when exact)."""

    @property
    def answer_profile_level_id(self) -> str:
        """What the answer announces: the camera's own when the profiles match, else the browser's entry."""
        return self.camera_profile_level_id if self.exact else self.offered_profile_level_id

    @property
    def profile_name(self) -> str:
        return profile_name(self.camera_profile_level_id)


def register_h264_profiles() -> None:
    """Let aiortc offer and accept Main, High and Constrained High H.264 (idempotent, process-wide)."""
    video = CODECS["video"]
    known = {
        str(codec.parameters.get("profile-level-id", "")).lower()
        for codec in video
        if codec.mimeType.lower() == H264_MIME.lower()
    }
    next_pt = max(codec.payloadType or 0 for codec in video) + 1
    for profile_level_id in EXTRA_PROFILE_LEVEL_IDS:
        if profile_level_id in known:
            continue
        video.append(
            RTCRtpCodecParameters(
                mimeType=H264_MIME,
                clockRate=90000,
                payloadType=next_pt,
                rtcpFeedback=[
                    RTCRtcpFeedback(type="nack"),
                    RTCRtcpFeedback(type="nack", parameter="pli"),
                    RTCRtcpFeedback(type="goog-remb"),
                ],
                parameters={
                    "level-asymmetry-allowed": "1",
                    "packetization-mode": "1",
                    "profile-level-id": profile_level_id,
                },
            )
        )
        video.append(
            RTCRtpCodecParameters(
                mimeType="video/rtx", clockRate=90000, payloadType=next_pt + 1, parameters={"apt": next_pt}
            )
        )
        next_pt += 2


def profile_level_id_from_sps(sps: bytes) -> str | None:
    """``profile_idc``, the constraint flags and ``level_idc`` of an SPS NAL unit, as 6 hex digits."""
    if len(sps) < 4 or nal_type(sps) != NAL_SPS:
        return None
    return sps[1:4].hex()


def camera_profile_level_id(sps: bytes, ffmpeg_profile: str | None) -> str:
    """The camera's profile-level-id: from its SPS, else from FFmpeg's profile name, else the default."""
    from_sps = profile_level_id_from_sps(sps)
    if from_sps is not None:
        return from_sps
    return _FFMPEG_PROFILES.get((ffmpeg_profile or "").lower(), DEFAULT_PROFILE_LEVEL_ID)


def profile_of(profile_level_id: str) -> H264Profile | None:
    try:
        return parse_h264_profile_level_id(profile_level_id)[0]
    except ValueError:
        return None


def profile_name(profile_level_id: str) -> str:
    profile = profile_of(profile_level_id)
    return _PROFILE_NAMES.get(profile, "unknown") if profile is not None else f"unknown ({profile_level_id})"


def check_playable(codec_name: str, profile_level_id: str | None = None) -> None:
    """Raise :class:`UnsupportedCodec` unless browsers can play this camera stream over WebRTC."""
    if codec_name != "h264":
        label = CODEC_LABELS.get(codec_name, codec_name.upper())
        raise UnsupportedCodec(
            f"{label} cannot be played in the browser; set the camera (or its sub stream) to H.264 "
            "for live view. Recording and export are not affected.",
            codec_name,
        )
    if profile_level_id is not None and profile_of(profile_level_id) not in _PLAYABLE:
        raise UnsupportedCodec(
            f"H.264 profile {profile_level_id} ({profile_name(profile_level_id)}) cannot be played in the "
            "browser; set the camera to the Baseline, Main or High profile for live view.",
            "h264",
        )


def choose_codec(offer_sdp: str, camera_profile_level_id: str) -> NegotiatedCodec:
    """The H.264 entry to answer the browser's offer with, for a camera of that profile-level-id.

    Prefers the browser's entry of the camera's own profile, then one whose decoders decode it too, then
    the most capable one offered (browsers' software decoders handle every 8-bit 4:2:0 profile anyway).
    """
    register_h264_profiles()
    offered = _offered_h264(offer_sdp)
    if not offered:
        raise UnsupportedCodec(
            "this browser offered no H.264 video for WebRTC, so the camera cannot be shown; "
            "use Chrome, Edge or another browser with H.264 WebRTC support",
            "h264",
        )
    wanted = profile_of(camera_profile_level_id)
    decoders = _DECODED_BY.get(wanted, frozenset()) if wanted is not None else frozenset()

    def rank(plid: str) -> tuple[bool, bool, int]:
        profile = profile_of(plid)
        order = _CAPABILITY_ORDER.index(profile) if profile in _CAPABILITY_ORDER else len(_CAPABILITY_ORDER)
        return profile != wanted, profile not in decoders, order

    chosen = min(offered, key=rank)
    return NegotiatedCodec(
        capability=_capability_for(chosen),
        camera_profile_level_id=camera_profile_level_id,
        offered_profile_level_id=chosen,
        exact=profile_of(chosen) == wanted,
        decodable=profile_of(chosen) in decoders,
    )


def preferences(codec: NegotiatedCodec) -> list[RTCRtpCodecCapability]:
    """What to pass to ``transceiver.setCodecPreferences``: the chosen H.264 entry and RTX."""
    rtx = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType.lower() == "video/rtx"]
    return [codec.capability, *rtx]


def answer_with_profile(answer_sdp: str, codec: NegotiatedCodec) -> str:
    """The answer with its H.264 ``profile-level-id`` set to :attr:`NegotiatedCodec.answer_profile_level_id`
    (aiortc writes its own table's entry, level 3.1, there)."""
    plid = codec.answer_profile_level_id
    return re.sub(r"(profile-level-id=)[0-9A-Fa-f]{6}", rf"\g<1>{plid}", answer_sdp)


def answered_profile_level_id(answer_sdp: str) -> str | None:
    """The profile-level-id of the first H.264 codec in an SDP (for logs and tests)."""
    for media in SessionDescription.parse(answer_sdp).media:
        for codec in media.rtp.codecs:
            if codec.mimeType.lower() == H264_MIME.lower():
                return str(codec.parameters.get("profile-level-id", DEFAULT_PROFILE_LEVEL_ID))
    return None


def _offered_h264(offer_sdp: str) -> list[str]:
    """The profile-level-ids of the offer's H.264 video entries aiortc can send (packetization mode 1)."""
    out: list[str] = []
    for media in SessionDescription.parse(offer_sdp).media:
        if media.kind != "video":
            continue
        for codec in media.rtp.codecs:
            if codec.mimeType.lower() != H264_MIME.lower():
                continue
            if str(codec.parameters.get("packetization-mode", "0")) != "1":
                continue
            plid = str(codec.parameters.get("profile-level-id", DEFAULT_PROFILE_LEVEL_ID)).lower()
            if profile_of(plid) in _PLAYABLE and plid not in out:
                out.append(plid)
        break  # the first video m-line is the one the session uses
    return out


def _capability_for(offered_profile_level_id: str) -> RTCRtpCodecCapability:
    wanted = profile_of(offered_profile_level_id)
    for capability in RTCRtpSender.getCapabilities("video").codecs:
        if capability.mimeType.lower() != H264_MIME.lower():
            continue
        if str(capability.parameters.get("packetization-mode")) != "1":
            continue
        local = str(capability.parameters.get("profile-level-id", DEFAULT_PROFILE_LEVEL_ID))
        if profile_of(local) == wanted:
            return capability
    raise UnsupportedCodec(f"no local H.264 entry for profile-level-id {offered_profile_level_id}", "h264")
