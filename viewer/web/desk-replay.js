// The desk viewer's replay panel: one camera's recordings next to its live view. A timeline (hour or day
// zoom, ◀ ▶, the wheel) shows the recorded ranges, gaps and alerts of the span in view (fetched as the view
// moves); a click or drag on it replays from that moment (users with replay:view). A link may open it at a
// time: desk.html#cams=3&replay=2026-03-01T08:30:00%2B08:00 (or epoch milliseconds).
import { api, can, el, t } from "./app.js";
import { ReplayView } from "./replay.js";
import { Timeline } from "./timeline.js";

const DAY_MS = 86400e3;

export class DeskReplay {
  /** @param {HTMLElement} view the desk's .view section (toolbar, hint, grid, bay info) */
  constructor(view) {
    this.view = view;
    this.camera = null;
    this.open = false;
    this.timeline = null;
    this.player = null;
    this._loadTimer = null;
    this._gen = 0;
    const wanted = /[#&]replay=([^&]+)/.exec(location.hash);
    const at = wanted ? decodeURIComponent(wanted[1]) : null;
    this._initial = at ? (/^\d+$/.test(at) ? Number(at) : Date.parse(at)) : null;
    const live = el("div", { class: "live-col" }, ...view.children);
    this.title = el("h3", { class: "desk-replay-title" });
    this.panel = el("section", { id: "desk-replay", class: "desk-replay", hidden: true },
      el("div", { class: "toolbar" }, this.title, el("span", { class: "spacer" }),
        el("button", { type: "button", class: "desk-replay-close", onclick: () => this.toggle(false) }, "✕")),
      el("div", { class: "desk-timeline" }), el("div", { class: "desk-player" }));
    view.replaceChildren(live, this.panel);
    this.button = el("button", { type: "button", id: "replay-toggle", hidden: true, onclick: () => this.toggle(!this.open) });
    const toolbar = live.querySelector(".toolbar");
    toolbar.insertBefore(this.button, toolbar.querySelector("#clear-selection"));
    this.render();
  }

  /** The camera shown alone on the desk (or null: several or none selected; the panel closes). */
  setCamera(camera) {
    const id = camera ? camera.id : null;
    const changed = id !== (this.camera ? this.camera.id : null);
    this.camera = camera;
    if (!camera) this.toggle(false);
    else if (changed && this._initial != null && !Number.isNaN(this._initial)) this.toggle(true);
    else if (changed && this.open) this._build();
    this._initial = null;
    this.render();
  }

  toggle(on) {
    if (on && !this.camera) return;
    this.open = on;
    if (on) this._build(); else this._teardown();
    this.render();
  }

  render() {
    this.button.hidden = !this.camera || !can("replay:view");
    this.button.textContent = this.open ? `✕ ${t("replay")}` : `◀◀ ${t("replay")}`;
    this.button.classList.toggle("on", this.open);
    this.panel.hidden = !this.open;
    this.view.classList.toggle("with-replay", this.open);
    if (this.camera) this.title.textContent = `${t("replay")} · ${this.camera.name || this.camera.code}`;
  }

  _teardown() {
    if (this.player) this.player.close();
    this.player = null;
    this.timeline = null;
    this._gen++;
  }

  _build() {
    this._teardown();
    const camera = this.camera;
    const lane = { key: `cam-${camera.id}`, kind: "camera", label: camera.name || camera.code, ref: { camera_id: camera.id },
      ranges: [], gaps: [], events: [] };
    const box = this.panel.querySelector(".desk-timeline");
    const timeline = this.timeline = new Timeline(box, { zooms: ["hour", "day"], onSeek: (at) => this.player.start(at),
      onView: (a, b) => this._scheduleLoad(lane, a, b) });
    timeline.setLanes([lane]);
    timeline.position = this._initial ?? Date.now() - 60e3;
    timeline.zoom("hour");
    timeline.setPosition(timeline.position);
    this.player = new ReplayView(this.panel.querySelector(".desk-player"), { lanes: [lane], timeline });
  }

  _scheduleLoad(lane, a, b) {
    clearTimeout(this._loadTimer);
    this._loadTimer = setTimeout(() => this._load(lane, a, b), 150);
  }

  async _load(lane, a, b) {
    const gen = this._gen;
    const id = this.camera.id;
    const ranges = [];
    const gaps = [];
    const end = Math.min(b.getTime(), Date.now());
    for (let from = a.getTime(); from < end; from += DAY_MS) {
      const to = Math.min(from + DAY_MS, end);
      const res = await api(`/api/cameras/${id}/footage?start=${new Date(from).toISOString()}&end=${new Date(to).toISOString()}`);
      if (res.status !== 200) break;
      ranges.push(...res.body.ranges);
      gaps.push(...res.body.gaps);
    }
    let events = [];
    if (can("alerts:read")) {
      const res = await api(`/api/alerts?camera_id=${id}&limit=200`);
      if (res.status === 200) events = res.body.map((x) => ({ at: x.raised_at, label: x.message, kind: "alert" }));
    }
    if (gen !== this._gen || !this.timeline) return;
    Object.assign(lane, { ranges, gaps, events });
    this.timeline.setLanes([lane]);
    this.panel.dataset.loaded = String(ranges.length);
  }
}
