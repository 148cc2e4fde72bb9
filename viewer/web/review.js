// Batch review: the batch's data; the synced replay of every covering camera and body-cam video on one
// timeline (the inspection window marked); the cameras' recordings; the body-cam files; hold (dispute) and
// release for reviewers; the signed evidence package with its progress and the node's verification; the
// chain of custody of the batch's files. What a role may not use is left out (inspectors: the data, their
// files, custody; managers: no hold, no export).
import {
  $, api, apiMessage, boot, can, el, fmtBytes, fmtDuration, fmtTime, onLanguageChange, t,
} from "./app.js";
import { ReplayView } from "./replay.js";
import { Timeline, gapReason } from "./timeline.js";

const MAX_LANES = 16;
const EXPORT_POLL_MS = 700;
const me = await boot({ need: ["batches:read"] });
if (me) await main();

async function main() {
  const q = new URLSearchParams(location.search);
  const state = { batch: null, footage: null, items: [], alerts: new Map(), custody: [], chainOk: null, sites: [] };

  async function loadBatch() {
    let res;
    if (q.get("id")) res = await api(`/api/batches/${encodeURIComponent(q.get("id"))}`);
    else {
      res = await api(`/api/batches?number=${encodeURIComponent(q.get("number") || "")}`);
      if (res.status === 200) res = res.body.items.length ? { status: 200, body: res.body.items[0] } : { status: 404, body: null };
    }
    if (res.status !== 200) {
      $("#review-error").hidden = false;
      $("#review-error").textContent = res.status === 404 ? t("batch_not_found") : apiMessage(res);
      for (const s of document.querySelectorAll("main section")) s.hidden = true;
      return false;
    }
    state.batch = res.body;
    return true;
  }

  async function loadItems() {
    if (!can("evidence:read")) { state.items = []; return; }
    const res = await api(`/api/evidence?batch=${encodeURIComponent(state.batch.number)}&limit=500`);
    state.items = res.status === 200 ? res.body.items.slice().reverse() : [];
  }

  async function loadCustody() {
    const all = [];
    let chainOk = null;
    await Promise.all(state.items.map(async (item) => {
      const res = await api(`/api/evidence/${item.id}/custody`);
      if (res.status !== 200) return;
      chainOk = chainOk === false ? false : res.body.audit_chain_ok;
      for (const ev of res.body.events) all.push({ ...ev, item });
    }));
    if (can("audit:read")) { // the batch's own events (disputes, exports) for those who may read the audit log
      const res = await api(`/api/audit/events?object_type=batch&object_id=${state.batch.id}&limit=500`);
      if (res.status === 200) for (const ev of res.body.items || []) all.push({ ...ev, item: null });
    }
    const seen = new Set();
    state.custody = all.filter((ev) => (seen.has(ev.seq) ? false : seen.add(ev.seq))).sort((a, b) => a.seq - b.seq);
    state.chainOk = chainOk;
  }

  async function loadFootage() {
    if (!can("replay:view")) return;
    const res = await api(`/api/batches/${state.batch.id}/footage`);
    state.footage = res.status === 200 ? res.body : null;
    if (state.footage && can("alerts:read")) {
      await Promise.all(state.footage.cameras.map(async (c) => {
        const a = await api(`/api/alerts?camera_id=${c.camera_id}&limit=200`);
        state.alerts.set(c.camera_id, a.status === 200 ? a.body : []);
      }));
    }
  }

  // ---- the batch ------------------------------------------------------------------------------------------
  function renderBatch() {
    const b = state.batch;
    document.title = `${b.number} · ${t("app_title")}`;
    $("#batch-number").textContent = b.number;
    const badge = $("#dispute-state");
    badge.textContent = b.disputed ? t("disputed_yes") : t("not_disputed");
    badge.className = `badge ${b.disputed ? "hold" : "ok"}`;
    badge.dataset.disputed = String(b.disputed);
    const span = (a, z) => (a ? `${fmtTime(a)} – ${z ? fmtTime(z) : "…"}` : "—");
    const facts = [
      ["declaration_no", b.declaration_no || "—"], ["containers", (b.containers || []).join(", ") || "—"],
      ["goods", b.goods || "—"], ["site_bay", b.site ? `${b.site} / ${b.bay || "—"}` : "—"],
      ["planned", span(b.planned_start, b.planned_end)], ["actual", span(b.actual_start, b.actual_end)],
      ["status", t(`bs_${b.status}`)], ["inspectors", (b.inspectors || []).join(", ") || "—"],
    ];
    if (b.notes) facts.push(["notes", b.notes]);
    $("#batch-data").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", { dataset: { field: k } }, v)]));
    const upload = $("#upload-link");
    upload.hidden = !can("evidence:upload");
    upload.href = `/ui/upload.html?batch=${encodeURIComponent(b.number)}`;
    upload.textContent = t("upload_for");
    const form = $("#hold-form");
    form.hidden = !can("batches:dispute");
    $("#hold-button").textContent = t(b.disputed ? "release" : "hold");
    $("#hold-button").className = b.disputed ? "" : "danger";
    $("#hold-reason").placeholder = t("hold_reason");
  }

  $("#hold-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const reason = $("#hold-reason").value.trim();
    const msg = $("#hold-message");
    if (!reason) { msg.textContent = t("hold_reason_required"); msg.className = "error"; return; }
    const release = state.batch.disputed;
    $("#hold-button").disabled = true;
    const res = await api(`/api/batches/${state.batch.id}/dispute`, { method: release ? "DELETE" : "POST", body: JSON.stringify({ reason }) });
    $("#hold-button").disabled = false;
    if (res.status >= 300) { msg.textContent = apiMessage(res); msg.className = "error"; return; }
    msg.textContent = t(release ? "release_done" : "hold_done");
    msg.className = "ok";
    $("#hold-reason").value = "";
    await loadBatch();
    await loadItems();
    await loadCustody();
    renderBatch();
    renderItems();
    renderCustody();
  });

  // ---- cameras, items, custody -------------------------------------------------------------------------------
  function renderCameras() {
    const f = state.footage;
    $("#cameras-section").hidden = !f;
    if (!f) return;
    const fw = f.footage_window;
    $("#footage-window").textContent = fw ? `${fmtTime(fw.start)} – ${fw.end ? fmtTime(fw.end) : "…"}` : "—";
    const exportable = can("footage:export");
    document.querySelectorAll("#cameras-section th.export").forEach((th) => { th.hidden = !exportable; });
    $("#cameras").replaceChildren(...(f.cameras.length ? f.cameras.map((c) => {
      const alerts = inWindow(state.alerts.get(c.camera_id) || []);
      const first = c.ranges.length ? c.ranges[0].start : null;
      const last = c.ranges.length ? c.ranges[c.ranges.length - 1].end : null;
      const clipOk = first && Date.parse(last) - Date.parse(first) <= 6 * 3600e3;
      return el("tr", { dataset: { code: c.camera_code, cameraId: String(c.camera_id) } },
        el("td", { class: "camera-name" }, `${c.camera_name || c.camera_code} (${c.camera_code})`),
        el("td", {}, fmtDuration(c.recorded_seconds)),
        el("td", { title: c.gaps.map((g) => `${fmtTime(g.start, "time")}–${fmtTime(g.end, "time")} ${gapReason(g.reason)}`).join("\n") }, String(c.gaps.length)),
        el("td", {}, alerts.length ? alerts.map((a) => `${fmtTime(a.raised_at, "time")} ${a.message}`).join("; ") : "—"),
        exportable ? el("td", {}, clipOk ? el("a", { href: `/api/cameras/${c.camera_id}/clip.mp4?start=${encodeURIComponent(first)}&end=${encodeURIComponent(last)}` }, "MP4") : "—") : null);
    }) : [el("tr", {}, el("td", { colspan: "5", class: "note" }, t("no_cameras")))]));
  }

  function inWindow(alerts) {
    const fw = state.footage && state.footage.footage_window;
    if (!fw) return [];
    const a = Date.parse(fw.start);
    const b = fw.end ? Date.parse(fw.end) : Date.now();
    return alerts.filter((x) => Date.parse(x.raised_at) <= b && (!x.cleared_at || Date.parse(x.cleared_at) >= a));
  }

  function renderItems() {
    $("#items-section").hidden = !can("evidence:read");
    $("#items").replaceChildren(...(state.items.length ? state.items.map((it) => el("tr", { dataset: { itemId: String(it.id), file: it.original_filename } },
      el("td", { class: "file-name" }, it.original_filename),
      el("td", {}, t(`kind_${it.kind}`)),
      el("td", {}, it.recorded_start ? `${fmtTime(it.recorded_start)}${it.recorded_end && it.kind === "video" ? ` – ${fmtTime(it.recorded_end, "time")}` : ""}` : "—"),
      el("td", {}, it.kind === "video" ? fmtDuration(it.media && it.media.duration_s) : "—"),
      el("td", {}, it.device_serial || "—"),
      el("td", {}, it.uploaded_by),
      el("td", {}, fmtTime(it.uploaded_at)),
      el("td", { class: "mono", title: it.sha256 }, `${it.sha256.slice(0, 12)}… · ${fmtBytes(it.size_bytes)}`),
      el("td", { class: "hold-flag" }, it.legal_hold ? el("span", { class: "badge hold" }, t("yes")) : t("no")),
      el("td", { class: "actions" }, el("a", { href: `/api/evidence/${it.id}/custody.html`, target: "_blank" }, t("custody")),
        el("a", { href: `/api/evidence/${it.id}/download` }, t("download")))))
      : [el("tr", {}, el("td", { colspan: "10", class: "note" }, t("no_items")))]));
  }

  function renderCustody() {
    $("#custody-section").hidden = !can("evidence:read");
    const chain = $("#chain-state");
    chain.textContent = state.chainOk === null ? "" : t(state.chainOk ? "audit_chain_ok" : "audit_chain_bad");
    chain.className = state.chainOk === false ? "error" : "note";
    $("#custody").replaceChildren(...state.custody.map((ev) => {
      const action = ev.action.replace(/^evidence\./, "");
      const label = t(`act_${action}`);
      return el("tr", { dataset: { action: ev.action, seq: String(ev.seq) } },
        el("td", {}, fmtTime(ev.at)),
        el("td", {}, ev.item ? ev.item.original_filename : `${t("batch")} ${state.batch.number}`),
        el("td", {}, ev.actor),
        el("td", {}, label === `act_${action}` ? ev.action : label),
        el("td", { class: "detail" }, detailText(ev.detail)));
    }));
  }

  function detailText(detail) {
    if (!detail) return "";
    const parts = [];
    for (const [k, v] of Object.entries(detail)) {
      if (v === null || v === undefined || v === "" || typeof v === "object") continue;
      const text = String(v);
      parts.push(`${k}: ${/^[0-9a-f]{64}$/.test(text) ? `${text.slice(0, 12)}…` : text}`);
    }
    return parts.join(" · ");
  }

  // ---- replay ---------------------------------------------------------------------------------------------
  let view = null;
  function buildReplay() {
    const f = state.footage;
    $("#replay-section").hidden = !f;
    if (!f) return;
    const camLanes = f.cameras.map((c) => ({
      key: `cam-${c.camera_id}`, kind: "camera", label: c.camera_name || c.camera_code, title: `${c.camera_name} (${c.camera_code})`,
      ref: { camera_id: c.camera_id }, ranges: c.ranges, gaps: c.gaps,
      events: inWindow(state.alerts.get(c.camera_id) || []).map((a) => ({ at: a.raised_at, label: a.message, kind: "alert" })),
    }));
    const itemLanes = state.items.filter((it) => it.kind === "video" && it.recorded_start && !it.deleted_at).map((it) => ({
      key: `item-${it.id}`, kind: "bodycam", label: it.original_filename, title: `${it.original_filename} · ${it.uploaded_by}`,
      ref: { evidence_item_id: it.id }, ranges: [{ start: it.recorded_start, end: it.recorded_end || it.recorded_start }], gaps: [], events: [],
    }));
    const lanes = [...camLanes, ...itemLanes].slice(0, MAX_LANES);
    const timeline = new Timeline($("#timeline"), { onSeek: (at) => view.start(at) });
    timeline.setLanes(lanes);
    timeline.setWindow(f.window);
    const fw = f.footage_window || f.window;
    const ends = [fw.end ? Date.parse(fw.end) : Date.now(), ...itemLanes.map((l) => Date.parse(l.ranges[0].end))];
    const starts = [Date.parse(fw.start), ...itemLanes.map((l) => Date.parse(l.ranges[0].start))];
    timeline.setView(Math.min(...starts), Math.max(...ends), { fit: true });
    timeline.setPosition(f.window.start || fw.start);
    view = new ReplayView($("#player"), { lanes, timeline, batchId: state.batch.id });
  }

  // ---- export ---------------------------------------------------------------------------------------------
  $("#export-section").hidden = !can("footage:export");
  $("#export-button").addEventListener("click", async () => {
    const button = $("#export-button");
    const result = $("#export-result");
    button.disabled = true;
    result.replaceChildren();
    result.dataset.state = "running";
    delete result.dataset.verified;
    $("#export-progress").hidden = false;
    $("#export-bar").value = 0;
    $("#export-text").textContent = t("export_running", { p: 0, bytes: fmtBytes(0) });
    const started = await api(`/api/batches/${state.batch.id}/evidence-package`, { method: "POST" });
    if (started.status !== 202) { exportFailed(apiMessage(started)); button.disabled = false; return; }
    let job = started.body;
    while (job.state === "running") {
      $("#export-bar").value = job.percent;
      $("#export-text").textContent = t("export_running", { p: job.percent, bytes: fmtBytes(job.bytes_written) });
      await new Promise((r) => setTimeout(r, EXPORT_POLL_MS));
      const res = await api(job.status_url);
      if (res.status !== 200) { exportFailed(apiMessage(res)); button.disabled = false; return; }
      job = res.body;
    }
    button.disabled = false;
    if (job.state !== "ready") { exportFailed(job.error || job.state); return; }
    $("#export-bar").value = 100;
    $("#export-text").textContent = `${t("export_ready")} · ${fmtBytes(job.size_bytes)}`;
    result.dataset.state = "ready";
    result.dataset.verified = String(job.verified);
    const verdict = job.verified === true ? el("strong", { class: "ok verdict" }, `✔ ${t("verified_ok")}`)
      : job.verified === false ? el("strong", { class: "error verdict" }, `✘ ${t("verified_bad")}: ${job.verify_problem || ""}`)
        : el("span", { class: "note verdict" }, t("verified_unknown"));
    result.replaceChildren(verdict, el("dl", { class: "facts" },
      el("dt", {}, "SHA-256"), el("dd", { class: "mono" }, job.sha256),
      el("dt", {}, t("fingerprint")), el("dd", { class: "mono" }, job.fingerprint || "—")),
    el("a", { href: job.download_url, id: "package-download", class: "button primary", download: "" }, t("download_package")));
    await loadCustody();
    renderCustody();
  });

  function exportFailed(message) {
    const result = $("#export-result");
    result.dataset.state = "failed";
    $("#export-progress").hidden = true;
    result.replaceChildren(el("strong", { class: "error" }, `${t("export_failed")}: ${message}`));
  }

  // ---- start ----------------------------------------------------------------------------------------------
  if (!(await loadBatch())) return;
  renderBatch();
  await Promise.all([loadItems(), loadFootage()]);
  await loadCustody();
  renderItems();
  renderCameras();
  renderCustody();
  buildReplay();
  document.body.dataset.ready = "true";
  onLanguageChange(() => { renderBatch(); renderItems(); renderCameras(); renderCustody(); });
}
