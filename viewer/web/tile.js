// One video tile of the wall or the desk viewer: the camera's live video (WhepPlayer), its name and bay,
// its status (live, connecting, reconnecting, offline with the reason), the batch inspected at its bay now,
// and buttons for full screen and removing the camera. The wall plays the sub stream when the camera has
// one and switches to the main stream in full screen.
import { el, fmtTime, t } from "./app.js";
import { WhepPlayer } from "./whep.js";

const OFFLINE_STATES = new Set(["offline", "error", "stopped"]);
const TILES = new Set();
// Leaving the page ends its live views (DELETE of each WHEP session, sent with keepalive).
addEventListener("pagehide", () => { for (const tile of TILES) if (tile.player) tile.player.stop(); });

export class Tile {
  /**
   * @param {{index: number, removable?: boolean, onSelect?: Function, onClear?: Function, onDrop?: Function}} opts
   */
  constructor({ index, removable = true, onSelect, onClear, onDrop }) {
    this.index = index;
    this.camera = null; // the camera as /api/cameras lists it
    this.cameraId = null;
    this.stream = "auto";
    this.bayLabel = "";
    this.batch = undefined; // undefined: not shown (no permission); null: none now
    this.player = null;
    this.stats = null;
    this.video = el("video", { muted: true, autoplay: true, playsinline: true });
    this.video.muted = true;
    this.nameEl = el("span", { class: "tile-name" });
    this.bayEl = el("span", { class: "tile-bay" });
    this.statusEl = el("span", { class: "tile-status", role: "status" });
    this.batchEl = el("div", { class: "tile-batch" });
    this.statsEl = el("span", { class: "tile-stats" });
    this.emptyEl = el("div", { class: "tile-empty" });
    this.fsButton = el("button", { type: "button", class: "tile-fs", onclick: (ev) => { ev.stopPropagation(); this.toggleFullscreen(); } }, icon("M1 5V1h4M11 1h4v4M15 11v4h-4M5 15H1v-4"));
    this.clearButton = removable
      ? el("button", { type: "button", class: "tile-clear", onclick: (ev) => { ev.stopPropagation(); onClear && onClear(this); } }, icon("M3 3l10 10M13 3L3 13"))
      : null;
    this.el = el("div", { class: "tile", tabindex: "0", dataset: { index: String(index), status: "empty" },
      onclick: () => onSelect && onSelect(this),
      ondblclick: () => this.cameraId && this.toggleFullscreen(),
      ondragover: (ev) => { ev.preventDefault(); this.el.classList.add("drop"); },
      ondragleave: () => this.el.classList.remove("drop"),
      ondrop: (ev) => {
        ev.preventDefault();
        this.el.classList.remove("drop");
        const id = Number(ev.dataTransfer.getData("text/x-camera-id"));
        if (id && onDrop) onDrop(this, id);
      } },
    this.video,
    el("div", { class: "tile-top" }, this.nameEl, this.bayEl, el("span", { class: "spacer" }), this.statusEl),
    el("div", { class: "tile-bottom" }, this.batchEl, el("span", { class: "spacer" }), this.statsEl, this.fsButton, this.clearButton),
    this.emptyEl);
    TILES.add(this);
    this._ticker = setInterval(() => { if (this.player && this.player.state !== "live") this.render(); }, 1000);
    this._onFullscreen = () => this._applyStream();
    document.addEventListener("fullscreenchange", this._onFullscreen);
    this.render();
  }

  get fullscreen() { return document.fullscreenElement === this.el; }

  /** Shows ``camera`` (or nothing); ``stream`` is "auto", "main" or "sub". */
  setCamera(cameraId, camera, stream = "auto") {
    const same = cameraId === this.cameraId && stream === this.stream;
    this.cameraId = cameraId;
    this.camera = camera;
    this.stream = stream;
    if (!same) {
      if (this.player) this.player.stop();
      this.player = null;
      this.stats = null;
      this.video.srcObject = null;
      if (cameraId && camera && camera.enabled !== false) {
        this.player = new WhepPlayer(this.video, {
          url: this._url(),
          onState: () => this.render(),
          onStats: (s) => { this.stats = s; this._showStats(); },
        }).start();
      }
    }
    this.render();
  }

  /** Fresh facts from the wall: the camera (with its status), its bay's label and the batch there now. */
  update({ camera, bayLabel = "", batch }) {
    const wasOffline = this._cameraOffline();
    if (camera !== undefined) this.camera = camera;
    this.bayLabel = bayLabel;
    this.batch = batch;
    if (this.player && wasOffline && !this._cameraOffline()) this.player.nudge();
    if (!this.player && this.cameraId && this.camera && this.camera.enabled !== false) {
      this.setCamera(this.cameraId, this.camera, this.stream);
      return;
    }
    this.render();
  }

  setSelected(on) { this.el.classList.toggle("selected", on); }

  toggleFullscreen() {
    if (this.fullscreen) document.exitFullscreen().catch(() => {});
    else this.el.requestFullscreen().catch(() => {});
  }

  destroy() {
    TILES.delete(this);
    clearInterval(this._ticker);
    document.removeEventListener("fullscreenchange", this._onFullscreen);
    if (this.player) this.player.stop();
    this.player = null;
    this.el.remove();
  }

  _url() {
    const hasSub = Boolean(this.camera && this.camera.sub_url);
    let stream = this.stream === "auto" ? (hasSub && !this.fullscreen ? "sub" : "main") : this.stream;
    if (stream === "sub" && !hasSub) stream = "main";
    if (this.fullscreen) stream = "main";
    return `/api/cameras/${this.cameraId}/whep?stream=${stream}`;
  }

  _applyStream() {
    if (this.player) this.player.setUrl(this._url());
    this.fsButton.title = t(this.fullscreen ? "exit_fullscreen" : "fullscreen");
  }

  _cameraOffline() {
    const st = this.camera && this.camera.status;
    return Boolean(st && OFFLINE_STATES.has(st.state));
  }

  /** The status shown: [code, text]. */
  status() {
    if (!this.cameraId) return ["empty", ""];
    if (!this.camera) return ["unknown", t("st_unknown_camera")];
    if (this.camera.enabled === false) return ["disabled", t("st_disabled")];
    const p = this.player;
    if (p && p.state === "live") return ["live", t("st_live")];
    if (p && p.state === "forbidden") return ["forbidden", t("st_forbidden")];
    if (p && p.state === "unsupported") return ["unsupported", `${t("st_unsupported")} · ${t("unsupported_codec")}`];
    const st = this.camera.status;
    if (this._cameraOffline()) {
      const reason = reasonText(st.reason, st.reason_message || st.message || "");
      return ["offline", reason ? `${t("st_offline")} · ${reason}` : t("st_offline")];
    }
    if (p && p.state === "reconnecting") {
      const why = p.info.reason === "no_stream" ? t("no_stream") : reasonText(p.info.reason, p.info.reason || "");
      const secs = p.info.retryAt ? Math.max(0, Math.ceil((p.info.retryAt - Date.now()) / 1000)) : 0;
      return ["reconnecting", [t("st_reconnecting"), why, secs ? t("retry_in", { s: secs }) : ""].filter(Boolean).join(" · ")];
    }
    return ["connecting", t("st_connecting")];
  }

  render() {
    const [code, text] = this.status();
    this.el.dataset.status = code;
    this.el.dataset.cameraId = this.cameraId ? String(this.cameraId) : "";
    this.el.classList.toggle("has-camera", Boolean(this.cameraId));
    this.statusEl.textContent = text;
    this.statusEl.className = `tile-status st-${code}`;
    this.nameEl.textContent = this.cameraId ? (this.camera ? this.camera.name || this.camera.code : `#${this.cameraId}`) : "";
    this.bayEl.textContent = this.bayLabel;
    this.nameEl.title = this.nameEl.textContent;
    this.bayEl.title = this.bayLabel;
    this.statusEl.title = text;
    // the middle of the tile: what to do with an empty tile, or why there is no picture
    this.emptyEl.textContent = this.cameraId ? (code === "live" ? "" : text) : t("empty_tile");
    this.emptyEl.hidden = code === "live";
    this.emptyEl.classList.toggle("problem", Boolean(this.cameraId));
    this.fsButton.title = t(this.fullscreen ? "exit_fullscreen" : "fullscreen");
    this.fsButton.hidden = !this.cameraId;
    if (this.clearButton) { this.clearButton.title = t("clear_tile"); this.clearButton.hidden = !this.cameraId; }
    if (this.batch === undefined || !this.cameraId) {
      this.batchEl.hidden = true;
    } else {
      this.batchEl.hidden = false;
      const b = this.batch;
      this.batchEl.classList.toggle("none", !b);
      this.batchEl.textContent = b
        ? `${t("batch_now")}: ${b.number}${b.goods ? ` · ${b.goods}` : ""}${b.planned_end ? ` · ${t("until")} ${fmtTime(b.planned_end, "time")}` : ""}`
        : t("no_batch");
      this.batchEl.title = this.batchEl.textContent;
    }
    this._showStats();
  }

  _showStats() {
    const s = this.stats;
    const p = this.player;
    this.el.dataset.frames = String(p ? p.totalFrames : 0);
    this.el.dataset.connFrames = String(p ? p.frames : 0);
    this.statsEl.textContent = s && p && p.state === "live"
      ? [s.fps != null ? `${Math.round(s.fps)} fps` : "", s.width ? `${s.width}×${s.height}` : ""].filter(Boolean).join(" · ")
      : "";
    this.video.title = this.statsEl.textContent;
  }
}

/** The words for a reason code (camera status or player), else ``fallback``. */
export function reasonText(code, fallback) {
  if (!code) return fallback;
  const text = t(`reason_${code}`);
  return text === `reason_${code}` ? fallback : text;
}

function icon(path) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  const p = document.createElementNS(ns, "path");
  p.setAttribute("d", path);
  svg.append(p);
  return svg;
}

/** The smallest wall grid (1, 4, 9, 16, 25) that holds ``n`` tiles. */
export function gridFor(n) {
  for (const g of [1, 4, 9, 16, 25]) if (n <= g) return g;
  return 25;
}

/** Lookups the wall and the desk share: bay labels and the batch in progress at each bay. */
export function yardIndex(sites, batches) {
  const bays = new Map(); // "SITE/BAY" -> {site, bay}
  for (const site of sites || []) for (const bay of site.bays || []) bays.set(`${site.code}/${bay.code}`, { site, bay });
  const batchAt = new Map(); // "SITE/BAY" -> batch
  for (const b of batches || []) if (b.site && b.bay && !batchAt.has(`${b.site}/${b.bay}`)) batchAt.set(`${b.site}/${b.bay}`, b);
  return {
    bayLabel(camera) {
      const key = (camera && camera.bays && camera.bays[0]) || "";
      const found = bays.get(key);
      if (!key) return "";
      return found ? `${found.site.name || found.site.code} / ${found.bay.name || found.bay.code}` : key;
    },
    /** The batch in progress at one of the camera's bays; undefined when batches are not readable. */
    batchFor(camera, readable) {
      if (!readable) return undefined;
      for (const key of (camera && camera.bays) || []) if (batchAt.has(key)) return batchAt.get(key);
      return null;
    },
  };
}
