// A timeline of one or several lanes (cameras, body-cam items) on one time axis in the yard's time zone:
// recorded ranges, gaps (with their reason), alert events, the inspection window, and the replay position.
// Zoom: a day, an hour, or "fit" (the span given by the page, e.g. a batch's footage window); ◀ ▶ move by
// half a view, the wheel zooms around the pointer. Click or drag on the lanes to seek: onSeek(Date) is called
// when the button is released (while dragging, the cursor follows and shows the time).
//
//   const tl = new Timeline(container, { onSeek, onView });
//   tl.setLanes([{ id (or key), label, title?, ranges: [{start, end}], gaps: [{start, end, reason}],
//                  events: [{at, label, kind}] }]);
//   tl.setWindow({ start, end });        // the inspection window (marked across every lane)
//   tl.setView(start, end, { fit: true }); tl.zoom("day" | "hour" | "fit");
//   tl.setPosition(date);  tl.setLaneState(id, "playing" | "gap" | "ended" | ...);
//
// Times may be Date, ISO strings or epoch milliseconds. The DOM carries data attributes for tests and tools:
// the container's data-view-start / data-view-end (ms), data-position (ms), each lane's data-lane and
// data-state.
import { el, fmtTime, onLanguageChange, t, zoneOffsetMs } from "./app.js";

const NS = "http://www.w3.org/2000/svg";
const LANE_H = 26;
const AXIS_H = 22;
const MIN_SPAN_MS = 60e3;
const MAX_SPAN_MS = 7 * 86400e3;
const TICKS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]
  .map((s) => s * 1000);

const ms = (v) => (v == null ? null : v instanceof Date ? v.getTime() : typeof v === "number" ? v : Date.parse(v));

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  for (const c of children) if (c) node.append(c);
  return node;
}

export class Timeline {
  /** @param {HTMLElement} container @param {{onSeek?: Function, onView?: Function, zooms?: string[]}} opts */
  constructor(container, { onSeek = () => {}, onView = () => {}, zooms = ["fit", "day", "hour"] } = {}) {
    this.container = container;
    this.onSeek = onSeek;
    this.onView = onView;
    this.lanes = [];
    this.window = null;
    this.fitSpan = null; // [start, end] of "fit"
    this.view = [Date.now() - 3600e3, Date.now()];
    this.mode = zooms[0];
    this.position = null;
    this.states = new Map();
    this._drag = null;
    container.classList.add("timeline");
    this.zoomButtons = Object.fromEntries(zooms.map((z) => [z, el("button", { type: "button", class: "tl-zoom",
      dataset: { zoom: z }, onclick: () => this.zoom(z) }, "")]));
    this.rangeLabel = el("span", { class: "tl-range" });
    this.hover = el("span", { class: "tl-hover" });
    const tools = el("div", { class: "tl-tools" },
      el("button", { type: "button", class: "tl-prev", title: "◀", onclick: () => this.pan(-0.5) }, "◀"),
      ...Object.values(this.zoomButtons),
      el("button", { type: "button", class: "tl-next", title: "▶", onclick: () => this.pan(0.5) }, "▶"),
      this.rangeLabel, el("span", { class: "spacer" }), this.hover);
    this.labels = el("div", { class: "tl-labels" });
    this.svg = svg("svg", { class: "tl-svg", role: "slider", "aria-label": "timeline" });
    this.area = el("div", { class: "tl-area" }, this.svg);
    this.legend = el("div", { class: "tl-legend" });
    container.replaceChildren(tools, el("div", { class: "tl-body" }, this.labels, this.area), this.legend);
    this.svg.addEventListener("pointerdown", (ev) => this._down(ev));
    this.svg.addEventListener("pointermove", (ev) => this._move(ev));
    this.svg.addEventListener("pointerup", (ev) => this._up(ev));
    this.svg.addEventListener("pointerleave", () => { if (!this._drag) this.hover.textContent = ""; });
    this.svg.addEventListener("wheel", (ev) => this._wheel(ev), { passive: false });
    new ResizeObserver(() => this.render()).observe(this.area);
    onLanguageChange(() => this.render());
    this.render();
  }

  setLanes(lanes) {
    this.lanes = lanes.map((l) => ({
      ...l,
      id: l.id ?? l.key,
      ranges: (l.ranges || []).map((r) => [ms(r.start), ms(r.end)]),
      gaps: (l.gaps || []).map((g) => [ms(g.start), ms(g.end), g.reason || ""]),
      events: (l.events || []).map((e) => [ms(e.at), e.label || "", e.kind || "alert"]),
    }));
    this.render();
  }

  setWindow(w) { this.window = w && w.start ? [ms(w.start), ms(w.end) ?? Date.now()] : null; this.render(); }

  /** Shows [start, end]; with fit: true it also becomes what the "fit" zoom returns to. */
  setView(start, end, { fit = false } = {}) {
    let a = ms(start);
    let b = ms(end);
    if (b - a < MIN_SPAN_MS) { const mid = (a + b) / 2; a = mid - MIN_SPAN_MS / 2; b = mid + MIN_SPAN_MS / 2; }
    if (fit) this.fitSpan = [a, b];
    this.view = [a, b];
    this.render();
    this.onView(new Date(a), new Date(b));
  }

  /** "day": the yard day around the position (or the view's middle); "hour": the hour; "fit": fitSpan. */
  zoom(mode) {
    this.mode = mode;
    const centre = this.position ?? (this.view[0] + this.view[1]) / 2;
    if (mode === "fit" && this.fitSpan) { this.setView(...this.fitSpan); return; }
    const size = mode === "hour" ? 3600e3 : 86400e3;
    const off = zoneOffsetMs(new Date(centre));
    const start = Math.floor((centre + off) / size) * size - off;
    this.setView(start, start + size);
  }

  pan(fraction) {
    const span = this.view[1] - this.view[0];
    this.mode = null;
    this.setView(this.view[0] + span * fraction, this.view[1] + span * fraction);
  }

  setPosition(value) {
    this.position = ms(value);
    this.container.dataset.position = this.position == null ? "" : String(this.position);
    this._drawCursor();
  }

  setLaneState(id, state, message = "") {
    this.states.set(id, [state, message]);
    const label = this.labels.querySelector(`[data-lane="${CSS.escape(String(id))}"]`);
    if (label) this._paintState(label, id);
  }

  // ---- drawing ------------------------------------------------------------------------------------------

  _x(t) { return ((t - this.view[0]) / (this.view[1] - this.view[0])) * this._width; }
  _t(x) { return this.view[0] + (x / this._width) * (this.view[1] - this.view[0]); }

  render() {
    const width = Math.max(this.area.clientWidth, 100);
    this._width = width;
    const height = AXIS_H + Math.max(this.lanes.length, 1) * LANE_H;
    this.svg.setAttribute("width", width);
    this.svg.setAttribute("height", height);
    this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.container.dataset.viewStart = String(Math.round(this.view[0]));
    this.container.dataset.viewEnd = String(Math.round(this.view[1]));
    for (const [z, b] of Object.entries(this.zoomButtons)) {
      b.textContent = t(`tl_${z}`);
      b.classList.toggle("on", this.mode === z);
      b.hidden = z === "fit" && !this.fitSpan;
    }
    this.rangeLabel.textContent = `${fmtTime(new Date(this.view[0]))} – ${fmtTime(new Date(this.view[1]),
      this.view[1] - this.view[0] > 86400e3 ? "datetime" : "time")}`;
    const nodes = [svg("defs", {}, svg("pattern", { id: "tl-hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse",
      patternTransform: "rotate(45)" }, svg("rect", { width: 6, height: 6, class: "tl-gap-bg" }),
    svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "tl-gap-line" })))];
    nodes.push(...this._axis(width));
    if (this.window) {
      const [a, b] = this.window;
      const x1 = Math.max(this._x(a), -1);
      const x2 = Math.min(this._x(b), width + 1);
      if (x2 > 0 && x1 < width) {
        const band = svg("rect", { class: "tl-window", x: x1, y: 0, width: Math.max(x2 - x1, 1), height });
        band.append(svg("title", {}, `${t("inspection_window")}: ${fmtTime(new Date(a))} – ${fmtTime(new Date(b))}`));
        nodes.push(band);
      }
    }
    this.lanes.forEach((lane, i) => nodes.push(this._lane(lane, AXIS_H + i * LANE_H, width)));
    this.cursor = svg("g", { class: "tl-cursor" }, svg("line", { x1: 0, x2: 0, y1: 0, y2: height }),
      svg("path", { d: "M-5 0 L5 0 L0 7 Z" }));
    this.dragCursor = svg("line", { class: "tl-drag", x1: 0, x2: 0, y1: 0, y2: height, visibility: "hidden" });
    nodes.push(this.cursor, this.dragCursor);
    this.svg.replaceChildren(...nodes);
    this._drawCursor();
    this._renderLabels();
    this._renderLegend();
  }

  _axis(width) {
    const span = this.view[1] - this.view[0];
    const step = TICKS.find((s) => (width * s) / span >= 80) || TICKS[TICKS.length - 1];
    const off = zoneOffsetMs(new Date(this.view[0]));
    const out = [svg("rect", { class: "tl-axis-bg", x: 0, y: 0, width, height: AXIS_H })];
    const first = Math.ceil((this.view[0] + off) / step) * step - off;
    for (let tick = first; tick <= this.view[1]; tick += step) {
      const x = this._x(tick);
      const d = new Date(tick);
      const localMidnight = ((tick + off) % 86400e3) === 0;
      const label = localMidnight ? fmtTime(d, "date") : step < 60e3 ? fmtTime(d, "time") : fmtTime(d, "time").slice(0, 5);
      out.push(svg("line", { class: localMidnight ? "tl-tick day" : "tl-tick", x1: x, x2: x, y1: AXIS_H - 6, y2: AXIS_H + this.lanes.length * LANE_H }));
      out.push(svg("text", { class: "tl-tick-label", x: x + 3, y: AXIS_H - 8 }, document.createTextNode(label)));
    }
    return out;
  }

  _lane(lane, y, width) {
    const g = svg("g", { class: "tl-lane", "data-lane": lane.id });
    g.append(svg("rect", { class: "tl-lane-bg", x: 0, y: y + 2, width, height: LANE_H - 4 }));
    const clip = (a, b) => [Math.max(this._x(a), -2), Math.min(this._x(b), width + 2)];
    for (const [a, b, reason] of lane.gaps) {
      const [x1, x2] = clip(a, b);
      if (x2 <= 0 || x1 >= width) continue;
      const r = svg("rect", { class: "tl-gap", "data-reason": reason, x: x1, y: y + 5, width: Math.max(x2 - x1, 1), height: LANE_H - 10 });
      r.append(svg("title", {}, `${t("gap")}: ${gapReason(reason)} · ${fmtTime(new Date(a))} – ${fmtTime(new Date(b), "time")}`));
      g.append(r);
    }
    for (const [a, b] of lane.ranges) {
      const [x1, x2] = clip(a, b);
      if (x2 <= 0 || x1 >= width) continue;
      const r = svg("rect", { class: `tl-range-bar ${lane.kind || ""}`, x: x1, y: y + 5, width: Math.max(x2 - x1, 1.5), height: LANE_H - 10 });
      r.append(svg("title", {}, `${t("recorded")}: ${fmtTime(new Date(a))} – ${fmtTime(new Date(b), "time")}`));
      g.append(r);
    }
    for (const [at, label, kind] of lane.events) {
      const x = this._x(at);
      if (x < -5 || x > width + 5) continue;
      const m = svg("path", { class: `tl-event ${kind}`, d: `M${x - 5} ${y + 2} L${x + 5} ${y + 2} L${x} ${y + 11} Z` });
      m.append(svg("title", {}, `${fmtTime(new Date(at))} ${label}`));
      g.append(m, svg("line", { class: `tl-event-line ${kind}`, x1: x, x2: x, y1: y + 2, y2: y + LANE_H - 2 }));
    }
    return g;
  }

  _renderLabels() {
    this.labels.style.paddingTop = `${AXIS_H}px`;
    this.labels.replaceChildren(...this.lanes.map((lane) => {
      const row = el("div", { class: `tl-label ${lane.kind || ""}`, dataset: { lane: String(lane.id) }, title: lane.title || lane.label },
        el("span", { class: "tl-label-text" }, lane.label), el("span", { class: "tl-state" }));
      row.style.height = `${LANE_H}px`;
      this._paintState(row, lane.id);
      return row;
    }));
  }

  _paintState(row, id) {
    const [state, message] = this.states.get(id) || ["", ""];
    row.dataset.state = state;
    const badge = row.querySelector(".tl-state");
    badge.textContent = state ? t(`lane_${state}`) : "";
    badge.title = message || "";
    badge.className = `tl-state ls-${state}`;
  }

  _renderLegend() {
    // replaceChildren() would print a null child as the text "null"
    this.legend.replaceChildren(...[
      el("span", { class: "lg lg-range" }, t("recorded")), el("span", { class: "lg lg-gap" }, t("gap")),
      this.lanes.some((l) => l.events.length) ? el("span", { class: "lg lg-event" }, t("alerts")) : null,
      this.window ? el("span", { class: "lg lg-window" }, t("inspection_window")) : null].filter(Boolean));
  }

  _drawCursor() {
    if (!this.cursor) return;
    const p = this.position;
    const visible = p != null && p >= this.view[0] && p <= this.view[1];
    this.cursor.setAttribute("visibility", visible ? "visible" : "hidden");
    if (visible) this.cursor.setAttribute("transform", `translate(${this._x(p)},0)`);
  }

  // ---- seeking --------------------------------------------------------------------------------------------

  _pointerTime(ev) {
    const rect = this.svg.getBoundingClientRect();
    const x = Math.min(Math.max(ev.clientX - rect.left, 0), rect.width);
    return [x, this._t(x)];
  }

  _down(ev) {
    if (ev.button !== 0) return;
    this.svg.setPointerCapture(ev.pointerId);
    this._drag = true;
    this._move(ev);
  }

  _move(ev) {
    const [x, at] = this._pointerTime(ev);
    this.hover.textContent = fmtTime(new Date(at));
    if (!this._drag) return;
    this.dragCursor.setAttribute("x1", x);
    this.dragCursor.setAttribute("x2", x);
    this.dragCursor.setAttribute("visibility", "visible");
  }

  _up(ev) {
    if (!this._drag) return;
    this._drag = null;
    this.dragCursor.setAttribute("visibility", "hidden");
    const [, at] = this._pointerTime(ev);
    this.setPosition(at);
    this.onSeek(new Date(at));
  }

  _wheel(ev) {
    ev.preventDefault();
    const [, at] = this._pointerTime(ev);
    const factor = ev.deltaY > 0 ? 1.25 : 0.8;
    const span = Math.min(Math.max((this.view[1] - this.view[0]) * factor, MIN_SPAN_MS), MAX_SPAN_MS);
    const left = (at - this.view[0]) / (this.view[1] - this.view[0]);
    this.mode = null;
    this.setView(at - span * left, at + span * (1 - left));
  }
}

export function gapReason(code) {
  if (!code) return "";
  const text = t(`gap_${code}`);
  return text === `gap_${code}` ? code : text;
}
