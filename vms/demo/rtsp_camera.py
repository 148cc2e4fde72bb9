"""Simulated IP cameras: one GStreamer RTSP server process serving one or more mounts.

Run with Debian's /usr/bin/python3 (it needs gi + GstRtspServer, which the venv lacks):

    /usr/bin/python3 rtsp_camera.py CONFIG.json

CONFIG: {"host": "127.0.0.1", "port": 0, "mounts": [{"path": "/cam1", "codec": "h264", ...}]}
(mount keys: see ``vms.demo.simcam.CameraSpec``). Prints ``LISTENING <port>`` on stdout once the server
accepts connections, then serves until stdin reaches EOF (its parent died or closed it) or SIGTERM/SIGINT.
"""

import json
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

ANONYMOUS_ROLE = "anonymous"
LOOPERS = []  # keeps the file loopers alive


def video_branch(mount):
    if mount.get("file"):
        return file_video_branch(mount)
    source = (
        "videotestsrc is-live=true pattern=ball background-color=0xff204060 "
        "! video/x-raw,width={width},height={height},framerate={fps}/1".format(**mount)
    )
    if mount.get("clock_overlay"):
        source += (
            ' ! clockoverlay time-format="%Y-%m-%d %H:%M:%S" halignment=left valignment=top'
            ' font-desc="Sans Bold 20" shaded-background=true'
        )
    source += " ! videoconvert ! video/x-raw,format=I420"
    interval = 1 if mount["sps_pps_in_band"] else 0
    gop = mount["keyframe_interval"]
    bitrate = mount["bitrate_kbps"]
    if mount["codec"] == "mjpeg":  # a codec the VMS refuses, for tests
        return f"{source} ! jpegenc quality=50 ! rtpjpegpay name=pay0 pt=26"
    if mount["codec"] == "h265":
        encoder = (
            f"x265enc speed-preset=ultrafast tune=zerolatency bitrate={bitrate} key-int-max={gop} "
            f'option-string="bframes=0:repeat-headers={interval}" ! video/x-h265,profile=main '
            f"! h265parse ! rtph265pay name=pay0 pt=96 config-interval={interval}"
        )
        return f"{source} ! {encoder}"
    b_frames = mount["b_frames"]
    tune = "" if b_frames else "tune=zerolatency "
    if mount["profile"] == "high":
        tune += "dct8x8=true cabac=true "
    encoder = (
        f"x264enc {tune}speed-preset=ultrafast bitrate={bitrate} key-int-max={gop} bframes={b_frames} "
        f"b-adapt=false rc-lookahead=0 sliced-threads=false threads=1 "
        f"! video/x-h264,profile={mount['profile']} "
        f"! h264parse ! rtph264pay name=pay0 pt=96 config-interval={interval}"
    )
    return f"{source} ! {encoder}"


def file_video_branch(mount):
    # Access units of the looped file are pushed by FileLooper with PTS = frame number / fps, so
    # timestamps keep increasing across loops and the sink paces them in real time.
    codec = mount["codec"]
    interval = 1 if mount["sps_pps_in_band"] else 0
    return (
        f"appsrc name=filesrc is-live=true format=time do-timestamp=false "
        f'caps="video/x-{codec},stream-format=byte-stream,alignment=au,framerate={mount["fps"]}/1" '
        f"! {codec}parse ! rtp{codec}pay name=pay0 pt=96 config-interval={interval}"
    )


def split_access_units(data, codec):
    """Split an Annex-B stream at access unit delimiters (the sample file is made with them)."""
    marker = b"\x00\x00\x00\x01\x09" if codec == "h264" else b"\x00\x00\x00\x01\x46"
    starts = []
    position = data.find(marker)
    while position >= 0:
        starts.append(position)
        position = data.find(marker, position + 1)
    if not starts:
        raise SystemExit(f"{codec} file has no access unit delimiters; make it with sample_video()")
    return [data[start:end] for start, end in zip(starts, [*starts[1:], len(data)], strict=True)]


class FileLooper:
    """Feeds each new media's appsrc with the file's access units forever, timestamps from zero."""

    def __init__(self, mount):
        with open(mount["file"], "rb") as video_file:
            self.units = split_access_units(video_file.read(), mount["codec"])
        self.frame_ns = Gst.SECOND // mount["fps"]

    def attach(self, _factory, media):
        appsrc = media.get_element().get_by_name("filesrc")
        appsrc.set_property("max-bytes", 4 * 1024 * 1024)
        counter = [0]  # frames pushed into this media's pipeline
        appsrc.connect("need-data", self.feed, counter)

    def feed(self, appsrc, _length, counter):
        for _ in range(5):
            index = counter[0]
            buffer = Gst.Buffer.new_wrapped(self.units[index % len(self.units)])
            buffer.pts = buffer.dts = index * self.frame_ns
            buffer.duration = self.frame_ns
            counter[0] = index + 1
            if appsrc.emit("push-buffer", buffer) != Gst.FlowReturn.OK:
                return


def audio_branch(mount):
    audio = mount["audio"]
    if audio == "none":
        return ""
    if audio == "aac":
        return (
            "audiotestsrc is-live=true wave=sine freq=440 volume=0.3 "
            "! audio/x-raw,rate=16000,channels=1 ! audioconvert ! voaacenc bitrate=32000 "
            "! aacparse ! rtpmp4apay name=pay1 pt=97"
        )
    if audio == "opus":  # a codec the VMS ignores, for tests
        return (
            "audiotestsrc is-live=true wave=sine freq=440 volume=0.3 "
            "! audio/x-raw,rate=48000,channels=1 ! opusenc ! rtpopuspay name=pay1 pt=98"
        )
    encoder, payloader = {"pcma": ("alawenc", "rtppcmapay"), "pcmu": ("mulawenc", "rtppcmupay")}[audio]
    return (
        "audiotestsrc is-live=true wave=sine freq=440 volume=0.3 "
        f"! audio/x-raw,rate=8000,channels=1 ! {encoder} ! {payloader} name=pay1"
    )


def launch_line(mount):
    return f"( {video_branch(mount)} {audio_branch(mount)} )"


def mount_role(mount):
    return "user" + mount["path"].replace("/", "_")


def make_token(role):
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, role)
    return token


def configure_auth(server, mounts):
    auth = GstRtspServer.RTSPAuth()
    methods = GstRtsp.RTSPAuthMethod.NONE
    for mount in mounts:
        if not mount.get("username"):
            continue
        token = make_token(mount_role(mount))
        if mount.get("auth", "basic") == "digest":
            auth.add_digest(mount["username"], mount["password"], token)
            methods |= GstRtsp.RTSPAuthMethod.DIGEST
        else:
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(mount["username"], mount["password"]), token)
            methods |= GstRtsp.RTSPAuthMethod.BASIC
    if not methods:
        return
    auth.set_default_token(make_token(ANONYMOUS_ROLE))
    auth.set_supported_methods(methods)
    server.set_auth(auth)


def allow(factory, role, construct=True):
    construct_value = "true" if construct else "false"
    factory.add_role_from_structure(
        Gst.Structure.new_from_string(
            f"{role}, media.factory.access=(boolean)true, media.factory.construct=(boolean){construct_value}"
        )
    )


def make_factory(mount, auth_enabled):
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(mount))
    factory.set_shared(True)
    factory.set_eos_shutdown(False)
    if mount.get("file"):
        looper = FileLooper(mount)
        factory.connect("media-configure", looper.attach)
        LOOPERS.append(looper)
    if auth_enabled:
        protected = bool(mount.get("username"))
        # Anonymous clients may see a protected mount but not play it: they get 401 and a challenge
        # (without access they would get 404, which hides that credentials are what is missing).
        allow(factory, ANONYMOUS_ROLE, construct=not protected)
        if protected:
            allow(factory, mount_role(mount))
    return factory


def main():
    with open(sys.argv[1]) as config_file:
        config = json.load(config_file)
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(config.get("host", "127.0.0.1"))
    server.set_service(str(config.get("port", 0)))
    mounts = config["mounts"]
    configure_auth(server, mounts)
    auth_enabled = any(mount.get("username") for mount in mounts)
    points = server.get_mount_points()
    for mount in mounts:
        sys.stderr.write(f"mount {mount['path']}: {launch_line(mount)}\n")
        points.add_factory(mount["path"], make_factory(mount, auth_enabled))

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        sys.stderr.write(f"cannot listen on {config.get('host')}:{config.get('port')}\n")
        sys.exit(2)

    def quit_loop(*_args):
        loop.quit()
        return False

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, quit_loop)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, quit_loop)
    GLib.io_add_watch(
        GLib.IOChannel.unix_new(sys.stdin.fileno()),
        GLib.PRIORITY_DEFAULT,
        GLib.IOCondition.HUP | GLib.IOCondition.IN | GLib.IOCondition.ERR,
        quit_loop,
    )
    sys.stdout.write(f"LISTENING {server.get_bound_port()}\n")
    sys.stdout.flush()
    loop.run()


if __name__ == "__main__":
    main()
