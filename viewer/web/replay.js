// Replay client: several lanes (cameras, body-cam videos) on one server-side clock over one WebRTC
// connection (docs/replay.md).
//
//   POST /api/replay {lanes: [{camera_id} | {evidence_item_id}], start, rate, paused, batch_id}
//     -> 201 {id, lanes: [{id, kind, label, playable, state, spans...}], video_lanes: [lane ids], whep, url,
//             ice_servers, control_channel: "control"}
//   POST {whep} (application/sdp): one recvonly video m-line per video lane, in order, and a data channel
//     "control" -> 201 SDP answer, X-VMS-Lanes: "laneId=mid,..."
//   data channel: commands {cmd: play|pause|seek(t)|speed(rate)|step(frames)|state, seq};
//     the server sends {type: "state", position, position_ms, rate, playing, seeking, keyframes_only, ended,
//     lanes: [{id, state: loading|playing|gap|ended|unsupported|error, next, frame_at, message}]},
//     {type: "ack"|"seeked"|"error", cmd, seq, ...}
//   DELETE {url} ends the session.
//
// const r = new ReplayClient({lanes, start, onState, onStats}); await r.open(); r.videoFor(laneId) is the
// <video> of a lane; r.play(), r.pause(), r.seek(date), r.speed(rate), r.step(n), r.close().
import { api, apiMessage, el, fmtTime, isoYard, onLanguageChange, t } from "./app.js";

const ICE_GATHER_MS = 2000;
const STATS_MS = 1000;
export const RATES = [0.5, 1, 2, 4, 8, 16];
const OPEN = new Set();
addEventListener("pagehide", () => { for (const r of OPEN) r.close(); });

export class ReplayError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

export class ReplayClient {
  /**
   * @param {{lanes: object[], start: Date, rate?: number, paused?: boolean, batchId?: number|null,
   *          onState?: Function, onMessage?: Function, onStats?: Function, onClosed?: Function}} opts
   */
  constructor({ lanes, start, rate = 1, paused = false, batchId = null, onState = () => {}, onMessage = () => {},
    onStats = () => {}, onClosed = () => {} }) {
    Object.assign(this, { lanes, start, rate, paused, batchId, onState, onMessage, onStats, onClosed });
    this.info = null; // the POST /api/replay answer
    this.state = null; // the latest state message
    this._stateAt = 0;
    this.videos = new Map(); // lane id -> <video>
    this.frames = new Map(); // lane id -> frames decoded
    this._seq = 0;
    this._pc = null;
    this._channel = null;
    this._closed = false;
    this._pending = [];
  }

  async open() {
    const res = await api("/api/replay", { method: "POST", body: JSON.stringify({
      lanes: this.lanes, start: isoYard(this.start), rate: this.rate, paused: this.paused, batch_id: this.batchId }) });
    if (res.status !== 201) throw new ReplayError(apiMessage(res), res.status);
    const info = this.info = res.body;
    OPEN.add(this);
    for (const id of info.video_lanes) {
      const video = document.createElement("video");
      Object.assign(video, { muted: true, autoplay: true, playsInline: true });
      video.dataset.lane = id;
      this.videos.set(id, video);
      this.frames.set(id, 0);
    }
    const iceServers = (info.ice_servers || []).map((s) => ({ urls: s.urls, username: s.username || undefined,
      credential: s.credential || undefined }));
    const pc = this._pc = new RTCPeerConnection({ iceServers });
    for (let i = 0; i < info.video_lanes.length; i++) pc.addTransceiver("video", { direction: "recvonly" });
    const channel = this._channel = pc.createDataChannel(info.control_channel || "control");
    channel.onopen = () => { for (const m of this._pending.splice(0)) channel.send(m); this.send("state"); };
    channel.onmessage = (ev) => this._message(ev.data);
    const mids = new Map(); // mid -> lane id
    const tracks = new Map(); // mid -> track
    const attach = () => {
      for (const [mid, track] of tracks) {
        const lane = mids.get(mid);
        const video = lane && this.videos.get(lane);
        if (video && !video.srcObject) { video.srcObject = new MediaStream([track]); video.play().catch(() => {}); }
      }
    };
    pc.ontrack = (ev) => { tracks.set(ev.transceiver.mid, ev.track); attach(); };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed" && !this._closed) this._end("connection_failed");
    };
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc, ICE_GATHER_MS);
    let answer;
    try {
      answer = await fetch(info.whep, { method: "POST", credentials: "same-origin", body: pc.localDescription.sdp,
        headers: { "Content-Type": "application/sdp", "X-Requested-With": "vms" } });
    } catch (err) {
      this.close();
      throw new ReplayError(String(err), 0);
    }
    if (answer.status !== 201) {
      const body = await answer.json().catch(() => null);
      this.close();
      throw new ReplayError(apiMessage({ status: answer.status, body }), answer.status);
    }
    for (const pair of (answer.headers.get("X-VMS-Lanes") || "").split(",")) {
      const [lane, mid] = pair.split("=");
      if (lane && mid !== undefined) mids.set(mid, lane);
    }
    await pc.setRemoteDescription({ type: "answer", sdp: await answer.text() });
    attach();
    this._statsTimer = setInterval(() => this._stats(), STATS_MS);
    return info;
  }

  videoFor(laneId) { return this.videos.get(laneId) || null; }

  /** The replay position now (interpolated between state messages), or null before the first one. */
  position() {
    const s = this.state;
    if (!s) return null;
    const running = s.playing && !s.seeking && !s.ended;
    return new Date(s.position_ms + (running ? (performance.now() - this._stateAt) * s.rate : 0));
  }

  send(cmd, fields = {}) {
    const seq = ++this._seq;
    const text = JSON.stringify({ cmd, seq, ...fields });
    if (this._channel && this._channel.readyState === "open") this._channel.send(text);
    else if (!this._closed) this._pending.push(text);
    return seq;
  }

  play() { return this.send("play"); }
  pause() { return this.send("pause"); }
  seek(date) {
    if (this.state) { this.state = { ...this.state, position_ms: date.getTime(), seeking: true }; this._stateAt = performance.now(); }
    return this.send("seek", { t: isoYard(date) });
  }
  speed(rate) { return this.send("speed", { rate }); }
  step(frames = 1) { return this.send("step", { frames }); }

  close() {
    if (this._closed) return;
    this._closed = true;
    OPEN.delete(this);
    clearInterval(this._statsTimer);
    if (this._pc) { try { this._pc.close(); } catch { /* closed */ } }
    if (this.info) {
      fetch(this.info.url, { method: "DELETE", credentials: "same-origin", keepalive: true,
        headers: { "X-Requested-With": "vms" } }).catch(() => {});
    }
    for (const v of this.videos.values()) v.srcObject = null;
  }

  _end(reason) {
    this.close();
    try { this.onClosed(reason); } catch (err) { console.error(err); }
  }

  _message(data) {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (msg.type === "state") {
      this.state = msg;
      this._stateAt = performance.now();
      try { this.onState(msg); } catch (err) { console.error(err); }
    } else {
      try { this.onMessage(msg); } catch (err) { console.error(err); }
    }
  }

  async _stats() {
    if (!this._pc || this._closed) return;
    let stats;
    try { stats = await this._pc.getStats(); } catch { return; }
    const byMid = new Map();
    stats.forEach((s) => {
      if (s.type === "inbound-rtp" && (s.kind === "video" || s.mediaType === "video")) byMid.set(s.mid, s);
    });
    for (const t of this._pc.getTransceivers()) {
      const s = byMid.get(t.mid);
      const video = [...this.videos.values()].find((v) => v.srcObject && v.srcObject.getTracks()[0] === t.receiver.track);
      if (s && video) this.frames.set(video.dataset.lane, s.framesDecoded || 0);
    }
    try { this.onStats(this.frames); } catch (err) { console.error(err); }
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

// ---- the replay view: videos of the lanes, the controls, and a Timeline kept in step ------------------------

/**
 * A replay of ``lanes`` shown in ``container`` and driven by a Timeline (click/drag on it seeks).
 * lanes: [{key, label, ref: {camera_id} | {evidence_item_id}}] in the order shown; key is the timeline lane id.
 * Nothing is requested before the first start(at) (a replay is audited, and body-cam items note it in their
 * chain of custody).
 */
export class ReplayView {
  constructor(container, { lanes, timeline, batchId = null }) {
    Object.assign(this, { container, lanes, timeline, batchId, t, fmtTime, el });
    this.client = null;
    this.keys = new Map(); // server lane id -> our key
    this.tiles = new Map(); // our key -> tile element
    this.status = el("span", { class: "rp-status", role: "status" });
    this.posText = el("span", { class: "rp-position" });
    this.playButton = el("button", { type: "button", class: "rp-play", onclick: () => this.togglePlay() });
    this.rate = el("select", { class: "rp-rate", onchange: () => this.client && this.client.speed(Number(this.rate.value)) },
      ...RATES.map((r) => el("option", { value: String(r), selected: r === 1 }, `${r}×`)));
    const controls = el("div", { class: "rp-controls toolbar" },
      // Plain glyphs: the media-control symbols (U+23EE...) are missing from the CJK fonts yards install.
      el("button", { type: "button", class: "rp-step-back", title: t("rp_step_back"), onclick: () => this.client && this.client.step(-1) }, "|◀"),
      this.playButton,
      el("button", { type: "button", class: "rp-step", title: t("rp_step_forward"), onclick: () => this.client && this.client.step(1) }, "▶|"),
      this.rate, this.posText, el("span", { class: "spacer" }), this.status);
    this.grid = el("div", { class: "rp-grid" });
    this.hint = el("p", { class: "note rp-hint" });
    container.classList.add("replay-view");
    container.replaceChildren(controls, this.hint, this.grid);
    this._starting = null;
    this._tick = setInterval(() => this._follow(), 250);
    onLanguageChange(() => this.render());
    this.render();
  }

  get running() { return Boolean(this.client); }

  /** Starts the replay at ``at`` (or seeks there when it runs). */
  async start(at) {
    if (this.client) { this.client.seek(at); this.timeline.setPosition(at); return; }
    if (this._starting) return;
    this.timeline.setPosition(at);
    this._setStatus(this.t("rp_connecting"));
    const client = new ReplayClient({ lanes: this.lanes.map((l) => l.ref), start: at, batchId: this.batchId,
      rate: Number(this.rate.value), onState: (s) => this._state(s), onStats: (f) => this._stats(f),
      onMessage: (m) => { if (m.type === "error") this._setStatus(m.message, true); },
      onClosed: () => { this.client = null; this._setStatus(this.t("rp_lost"), true); this.render(); } });
    this._starting = client.open().then((info) => {
      this.client = client;
      info.lanes.forEach((lane, i) => this.keys.set(lane.id, this.lanes[i].key));
      info.lanes.forEach((lane, i) => {
        const tile = this.tiles.get(this.lanes[i].key);
        const video = client.videoFor(lane.id);
        if (tile && video) tile.querySelector(".rp-video").replaceChildren(video);
        if (!lane.playable) this._laneState(this.lanes[i].key, "unsupported", lane.message || "");
      });
      this._setStatus("");
    }).catch((err) => {
      this._setStatus(`${this.t("rp_failed")}: ${err.message}`, true);
    }).finally(() => { this._starting = null; this.render(); });
    await this._starting;
  }

  togglePlay() {
    if (!this.client) { this.start(new Date(this.timeline.position ?? this.timeline.view[0])); return; }
    if (this.client.state && this.client.state.playing) this.client.pause(); else this.client.play();
  }

  close() {
    clearInterval(this._tick);
    if (this.client) this.client.close();
    this.client = null;
  }

  render() {
    const { el, t } = this;
    this.hint.textContent = t("rp_hint");
    this.hint.hidden = Boolean(this.client);
    const playing = Boolean(this.client && this.client.state && this.client.state.playing);
    this.playButton.textContent = playing ? "||" : "▶";
    this.playButton.title = t(playing ? "rp_pause" : "rp_play");
    this.playButton.title = t(playing ? "rp_pause" : "rp_play");
    this.container.dataset.running = String(Boolean(this.client));
    if (this.tiles.size !== this.lanes.length) {
      this.tiles = new Map(this.lanes.map((l) => [l.key, el("figure", { class: "rp-tile", dataset: { lane: l.key, state: "", frames: "0" } },
        el("div", { class: "rp-video" }), el("figcaption", {}, el("span", { class: "rp-label" }, l.label), el("span", { class: "rp-state" })),
        el("div", { class: "rp-overlay" }))]));
      this.grid.replaceChildren(...this.tiles.values());
      this.grid.dataset.count = String(this.lanes.length);
    }
  }

  _setStatus(text, error = false) {
    this.status.textContent = text;
    this.status.classList.toggle("error", error);
  }

  _state(s) {
    for (const lane of s.lanes) {
      const key = this.keys.get(lane.id);
      if (key) this._laneState(key, lane.state, lane.state === "gap" && lane.next ? `${this.t("rp_next")} ${this.fmtTime(lane.next, "time")}` : lane.message || "");
    }
    this.container.dataset.playing = String(s.playing);
    this.container.dataset.rate = String(s.rate);
    this.render();
  }

  _laneState(key, state, message) {
    this.timeline.setLaneState(key, state, message);
    const tile = this.tiles.get(key);
    if (!tile) return;
    tile.dataset.state = state;
    tile.querySelector(".rp-state").textContent = this.t(`lane_${state}`);
    const overlay = tile.querySelector(".rp-overlay");
    overlay.textContent = state === "playing" ? "" : [this.t(`lane_${state}`), message].filter(Boolean).join(" · ");
    overlay.hidden = state === "playing";
  }

  _stats(frames) {
    for (const [laneId, n] of frames) {
      const tile = this.tiles.get(this.keys.get(laneId));
      if (tile) tile.dataset.frames = String(n);
    }
  }

  _follow() {
    const pos = this.client && this.client.position();
    if (!pos) return;
    this.posText.textContent = this.fmtTime(pos);
    this.container.dataset.position = String(pos.getTime());
    if (!this.timeline._drag) {
      this.timeline.setPosition(pos);
      const [a, b] = this.timeline.view;
      if (pos.getTime() > b && this.client.state && this.client.state.playing) this.timeline.pan(0.5);
      else if (pos.getTime() < a - (b - a)) this.timeline.setView(pos.getTime() - (b - a) / 4, pos.getTime() + (b - a) * 3 / 4);
    }
  }
}
