// Desktop viewer: the yard as a tree (sites -> bays -> cameras) and live video of one or several cameras.
// Click a camera to see it alone, tick several to see them together, click a bay to see all its cameras.
// The selection is kept in the address (#cams=1,2) so a view can be bookmarked.
import { $, api, boot, can, el, every, fmtTime, onLanguageChange, t } from "./app.js";
import { Tile, gridFor, yardIndex } from "./tile.js";
import { DeskReplay } from "./desk-replay.js";

const MAX_TILES = 25;
const me = await boot({ need: ["live:view", "cameras:read"] });
if (me) await main();

async function main() {
  const canBatches = can("batches:read");
  const state = { sites: [], cameras: new Map(), batches: [], selected: [], bay: null, index: yardIndex([], []), views: [] };
  const open = new Set(JSON.parse(localStorage.getItem("vms-desk-open") || "null") || []);
  // one camera alone: its replay (timeline + video) can open next to its live view
  const replay = can("replay:view") ? new DeskReplay($(".view")) : null;

  async function load() {
    const [cams, sites, batches] = await Promise.all([
      api("/api/cameras"),
      can("sites:read") ? api("/api/sites") : Promise.resolve({ status: 0 }),
      canBatches ? api("/api/batches?status=in_progress&limit=500") : Promise.resolve({ status: 0 }),
    ]);
    if (cams.status === 200) state.cameras = new Map((cams.body.items || cams.body).map((c) => [c.id, c]));
    if (sites.status === 200) state.sites = sites.body;
    if (batches.status === 200) state.batches = batches.body.items;
    state.index = yardIndex(state.sites, state.batches);
  }

  const byCode = () => new Map([...state.cameras.values()].map((c) => [c.code, c]));
  const batchAt = (site, bay) => state.batches.find((b) => b.site === site.code && b.bay === bay.code) || null;

  function select(ids, bay = null) {
    state.selected = [...new Set(ids)].filter((id) => state.cameras.has(id)).slice(0, MAX_TILES);
    state.bay = bay;
    history.replaceState(null, "", state.selected.length ? `#cams=${state.selected.join(",")}` : location.pathname);
    buildGrid();
    renderTree();
  }
  function toggle(id) {
    select(state.selected.includes(id) ? state.selected.filter((x) => x !== id) : [...state.selected, id]);
  }

  // --- tree ----------------------------------------------------------------------------------------------
  function cameraNode(c) {
    const st = (c.status && c.status.state) || "offline";
    const checked = state.selected.includes(c.id);
    return el("li", { role: "treeitem", class: `cam${checked ? " on" : ""}`, dataset: { cameraId: String(c.id), code: c.code } },
      el("input", { type: "checkbox", checked, "aria-label": c.name || c.code, onchange: () => toggle(c.id) }),
      el("span", { class: `dot st-${st}`, title: t(st) }),
      el("button", { type: "button", class: "link cam-name", onclick: () => select([c.id]) }, c.name || c.code));
  }
  function groupNode(key, label, extra, cameras, onPick) {
    const expanded = !open.has(`closed:${key}`);
    return el("li", { role: "treeitem", "aria-expanded": String(expanded), class: "group", dataset: { key } },
      el("button", { type: "button", class: "twisty", onclick: () => {
        if (expanded) open.add(`closed:${key}`); else open.delete(`closed:${key}`);
        localStorage.setItem("vms-desk-open", JSON.stringify([...open]));
        renderTree();
      } }, expanded ? "▾" : "▸"),
      el("button", { type: "button", class: "link group-name", onclick: onPick }, label), extra,
      expanded ? el("ul", { role: "group" }, ...cameras) : null);
  }
  function renderTree() {
    const codes = byCode();
    const placed = new Set();
    const siteNodes = state.sites.map((site) => {
      const bayNodes = (site.bays || []).map((bay) => {
        const cams = (bay.cameras || []).map((code) => codes.get(code)).filter(Boolean);
        cams.forEach((c) => placed.add(c.id));
        const batch = canBatches ? batchAt(site, bay) : null;
        const tag = batch ? el("span", { class: "tag", title: batch.goods || "" }, `${t("batch_now")} ${batch.number}`) : null;
        return groupNode(`bay:${site.code}/${bay.code}`, bay.name || bay.code, tag, cams.map(cameraNode),
          () => select(cams.map((c) => c.id), { site, bay }));
      });
      const loose = [...state.cameras.values()].filter((c) => c.site === site.code && !placed.has(c.id) && !(c.bays || []).length);
      loose.forEach((c) => placed.add(c.id));
      if (loose.length) bayNodes.push(groupNode(`nobay:${site.code}`, t("no_bay"), null, loose.map(cameraNode), () => select(loose.map((c) => c.id))));
      const all = [...state.cameras.values()].filter((c) => c.site === site.code).map((c) => c.id);
      return groupNode(`site:${site.code}`, site.name || site.code, null, bayNodes, () => select(all));
    });
    const rest = [...state.cameras.values()].filter((c) => !placed.has(c.id) && !state.sites.some((s) => s.code === c.site));
    if (rest.length) siteNodes.push(groupNode("other", t("no_bay"), null, rest.map(cameraNode), () => select(rest.map((c) => c.id))));
    $("#tree").replaceChildren(...siteNodes);
  }

  // --- video ---------------------------------------------------------------------------------------------
  function buildGrid() {
    const wanted = state.selected;
    // keep the tiles of cameras still selected (no reconnect), in the new order
    const keep = new Map(state.views.filter((v) => wanted.includes(v.cameraId)).map((v) => [v.cameraId, v]));
    for (const v of state.views) if (!keep.has(v.cameraId)) v.destroy();
    const grid = $("#grid");
    const size = wanted.length ? gridFor(wanted.length) : 1;
    grid.className = `grid g${size}`;
    grid.dataset.grid = String(size);
    state.views = wanted.map((id, i) => {
      let view = keep.get(id);
      if (!view) {
        view = new Tile({ index: i, onClear: (v) => toggle(v.cameraId) });
        view.setCamera(id, state.cameras.get(id) || null, "auto");
      }
      view.index = i;
      grid.append(view.el);
      return view;
    });
    $("#desk-hint").hidden = wanted.length > 0;
    refresh();
  }
  function refresh() {
    for (const v of state.views) {
      const camera = state.cameras.get(v.cameraId) || null;
      v.update({ camera, bayLabel: state.index.bayLabel(camera), batch: state.index.batchFor(camera, canBatches) });
    }
    const n = state.selected.length;
    $("#selection-title").textContent = state.bay ? `${state.bay.site.name || state.bay.site.code} / ${state.bay.bay.name || state.bay.bay.code}`
      : n === 1 ? (state.cameras.get(state.selected[0]) || {}).name || "" : n ? t("n_cameras", { n }) : "";
    renderBayInfo();
    if (replay) replay.setCamera(n === 1 ? state.cameras.get(state.selected[0]) || null : null);
  }
  function renderBayInfo() {
    const box = $("#bay-info");
    const batch = state.bay && canBatches ? batchAt(state.bay.site, state.bay.bay) : null;
    box.hidden = !batch;
    if (!batch) return box.replaceChildren();
    box.replaceChildren(el("h3", {}, `${t("batch_now")}: ${batch.number}`), el("dl", {},
      el("dt", {}, t("goods")), el("dd", {}, batch.goods || "—"),
      el("dt", {}, t("containers")), el("dd", {}, (batch.containers || []).join(", ") || "—"),
      el("dt", {}, t("planned")), el("dd", {}, `${fmtTime(batch.planned_start)} – ${fmtTime(batch.planned_end, "time")}`)));
  }

  $("#clear-selection").addEventListener("click", () => select([]));
  onLanguageChange(() => { renderTree(); refresh(); for (const v of state.views) v.render(); if (replay) replay.render(); });

  await load();
  const fromHash = /cams=([\d,]+)/.exec(location.hash);
  select(fromHash ? fromHash[1].split(",").map(Number) : []);
  let treeSignature = "";
  every(3000, async () => {
    await load();
    const sig = JSON.stringify([state.sites, [...state.cameras.values()].map((c) => [c.id, c.name, c.status && c.status.state]), state.batches.map((b) => b.id)]);
    if (sig !== treeSignature) { treeSignature = sig; renderTree(); }
    refresh();
  });
}
