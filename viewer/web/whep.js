// WHEP client: plays one camera stream in a <video> over WebRTC, and keeps it playing.
//
// POST /api/cameras/{id}/whep?stream=main|sub with the SDP offer (Content-Type: application/sdp) answers
// 201 with the SDP answer and a Location to DELETE when done; errors are JSON {"error", "detail"}
// (unsupported_codec for H.265 cameras, 503 when the camera has no stream now).
//
// The player reconnects on its own with a growing delay (1, 2, 4, 8, 15 s) when the connection fails,
// the video stops arriving (framesDecoded stops growing), or the server has no stream; nudge() retries at
// once (the camera came back online). States passed to onState(state, info):
//   connecting    first attempt
//   live          frames are being decoded
//   reconnecting  waiting for the next attempt; info.reason says why, info.retryAt when
//   unsupported   the browser cannot play this camera (H.265): retried rarely
//   forbidden     401/403: not retried
//   stopped       stop() was called

const BACKOFF_S = [1, 2, 4, 8, 15];
const UNSUPPORTED_RETRY_S = 60;
const ICE_GATHER_MS = 2000;
const FIRST_FRAME_TIMEOUT_MS = 12000; // a new viewer may wait for the camera's next keyframe
const STALL_MS = 4000;
const STATS_MS = 1000;

// STUN/TURN servers the server announces in its answers (Link: <url>; rel="ice-server"), used by the
// connections made after it (none are needed on a LAN or on loopback).
let knownIceServers = [];

export function parseIceServerLinks(header) {
  const servers = [];
  for (const part of (header || "").split(/,(?=\s*<)/)) {
    const m = /<([^>]+)>(.*)/.exec(part.trim());
    if (!m || !/rel="?ice-server"?/.test(m[2])) continue;
    const param = (name) => { const x = new RegExp(`${name}="([^"]*)"`).exec(m[2]); return x ? x[1] : undefined; };
    const server = { urls: m[1] };
    if (param("username") !== undefined) { server.username = param("username"); server.credential = param("credential") || ""; }
    servers.push(server);
  }
  return servers;
}

export class WhepPlayer {
  /**
   * @param {HTMLVideoElement} video
   * @param {{url: string, onState?: Function, onStats?: Function}} opts
   */
  constructor(video, { url, onState = () => {}, onStats = () => {} }) {
    this.video = video;
    this.url = url;
    this.onState = onState;
    this.onStats = onStats;
    this.state = "idle";
    this.info = {};
    this.frames = 0; // decoded on the current connection
    this.totalFrames = 0; // decoded since start()
    this.failures = 0;
    this._gen = 0;
    this._pc = null;
    this._resource = null;
    this._retryTimer = null;
    this._statsTimer = null;
    this._everLive = false;
  }

  start() {
    this._stopped = false;
    this._connect();
    return this;
  }

  /** Plays another URL (e.g. the main stream in full screen), reconnecting at once. */
  setUrl(url) {
    if (url === this.url) return;
    this.url = url;
    if (!this._stopped) { this._teardown(); this._connect(); }
  }

  /** Retry now if not playing (e.g. the camera is back online). */
  nudge() {
    if (this._stopped || this.state === "live" || this.state === "connecting") return;
    if (this.state === "reconnecting" && this._connecting) return;
    this.failures = 0;
    this._teardown();
    this._connect();
  }

  stop() {
    this._stopped = true;
    this._teardown();
    this._set("stopped", {});
  }

  _set(state, info) {
    this.state = state;
    this.info = info;
    try { this.onState(state, info); } catch (err) { console.error(err); }
  }

  _teardown() {
    this._gen++;
    clearTimeout(this._retryTimer);
    clearInterval(this._statsTimer);
    this._retryTimer = this._statsTimer = null;
    this._connecting = false;
    if (this._pc) {
      try { this._pc.close(); } catch { /* already closed */ }
      this._pc = null;
    }
    if (this._resource) {
      fetch(this._resource, { method: "DELETE", headers: { "X-Requested-With": "vms" }, credentials: "same-origin",
        keepalive: true }).catch(() => {});
      this._resource = null;
    }
    this.frames = 0;
  }

  _retry(reason, detail, seconds) {
    if (this._stopped) return;
    this._teardown();
    const delay = seconds ?? BACKOFF_S[Math.min(this.failures, BACKOFF_S.length - 1)];
    this.failures++;
    const state = reason === "unsupported_codec" ? "unsupported" : "reconnecting";
    this._set(state, { reason, detail, retryAt: Date.now() + delay * 1000 });
    const gen = this._gen;
    this._retryTimer = setTimeout(() => { if (gen === this._gen) this._connect(); }, delay * 1000 * (0.9 + Math.random() * 0.2));
  }

  async _connect() {
    if (this._stopped) return;
    this._teardown();
    const gen = this._gen;
    this._connecting = true;
    if (this.state !== "reconnecting" && this.state !== "unsupported") {
      this._set(this._everLive ? "reconnecting" : "connecting", { reason: this._everLive ? "stalled" : null });
    }
    const pc = new RTCPeerConnection({ iceServers: knownIceServers });
    this._pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (ev) => {
      if (gen !== this._gen) return;
      this.video.srcObject = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream([ev.track]);
      this.video.play().catch(() => {});
    };
    let disconnectedTimer = null;
    pc.onconnectionstatechange = () => {
      if (gen !== this._gen) return;
      const s = pc.connectionState;
      if (s === "failed" || s === "closed") this._retry("ice");
      else if (s === "disconnected") {
        disconnectedTimer = setTimeout(() => { if (gen === this._gen && pc.connectionState === "disconnected") this._retry("ice"); }, 3000);
      } else if (s === "connected") clearTimeout(disconnectedTimer);
    };
    let response;
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIceGathering(pc, ICE_GATHER_MS);
      if (gen !== this._gen) return;
      response = await fetch(this.url, {
        method: "POST", credentials: "same-origin", body: pc.localDescription.sdp,
        headers: { "Content-Type": "application/sdp", "X-Requested-With": "vms" },
      });
    } catch (err) {
      if (gen === this._gen) this._retry("network", String(err));
      return;
    }
    if (gen !== this._gen) {
      const loc = response.headers.get("Location");
      if (response.status === 201 && loc) fetch(new URL(loc, location.href), { method: "DELETE", headers: { "X-Requested-With": "vms" } }).catch(() => {});
      return;
    }
    if (response.status !== 201) {
      const body = await response.json().catch(() => ({}));
      const code = body.error || `http_${response.status}`;
      if (response.status === 401 || response.status === 403) {
        this._teardown();
        this._set("forbidden", { reason: code, detail: body.detail });
      } else if (code === "unsupported_codec") {
        this._retry("unsupported_codec", body.detail, UNSUPPORTED_RETRY_S);
      } else {
        this._retry(response.status === 503 ? "no_stream" : code, body.detail);
      }
      return;
    }
    const links = parseIceServerLinks(response.headers.get("Link"));
    if (links.length) knownIceServers = links;
    const loc = response.headers.get("Location");
    this._resource = loc ? new URL(loc, new URL(this.url, location.href)).href : null;
    try {
      await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    } catch (err) {
      if (gen === this._gen) this._retry("bad_answer", String(err));
      return;
    }
    this._connecting = false;
    this._watch(pc, gen);
  }

  _watch(pc, gen) {
    let started = Date.now();
    let lastGrowth = Date.now();
    let last = 0;
    let lastAt = Date.now();
    this._statsTimer = setInterval(async () => {
      if (gen !== this._gen) return;
      let frames = 0;
      let fps = null;
      let width = null;
      let height = null;
      try {
        const stats = await pc.getStats();
        stats.forEach((s) => {
          if (s.type === "inbound-rtp" && (s.kind === "video" || s.mediaType === "video")) {
            frames = s.framesDecoded || 0;
            width = s.frameWidth ?? null;
            height = s.frameHeight ?? null;
          }
        });
      } catch { return; }
      if (gen !== this._gen) return;
      const now = Date.now();
      if (document.hidden) { started = lastGrowth = now; } // a hidden page may not decode: not a stall
      fps = now > lastAt ? ((frames - last) * 1000) / (now - lastAt) : null;
      lastAt = now;
      if (frames > last) {
        this.totalFrames += frames - last;
        last = frames;
        lastGrowth = now;
        this.frames = frames;
        if (this.state !== "live") {
          this._everLive = true;
          this.failures = 0;
          this._set("live", {});
        }
      } else if (this.state === "live" ? now - lastGrowth > STALL_MS : now - started > FIRST_FRAME_TIMEOUT_MS) {
        this._retry(this.state === "live" ? "stalled" : "no_frames");
        return;
      }
      try { this.onStats({ frames, totalFrames: this.totalFrames, fps, width, height }); } catch (err) { console.error(err); }
    }, STATS_MS);
  }
}

function waitForIceGathering(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); pc.removeEventListener("icegatheringstatechange", check); resolve(); };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}
