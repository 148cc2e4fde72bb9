// Live wall: a grid of 1, 4, 9, 16 or 25 tiles; the user puts cameras into tiles (pick a tile, then a
// camera; or drag a camera onto a tile). The layout is saved for the user on every change
// (PUT /api/viewer/layouts/{name}); the last one used opens next time.
import { $, api, boot, can, el, every, onLanguageChange, t } from "./app.js";
import { Tile, yardIndex } from "./tile.js";

const GRIDS = [1, 4, 9, 16, 25];
const DEFAULT_NAME = "default";

const me = await boot({ need: ["live:view", "cameras:read"] });
if (me) await main();

async function main() {
  const state = {
    name: localStorage.getItem(`vms-wall-layout:${me.name}`) || DEFAULT_NAME,
    grid: 4, tiles: [], layouts: [], cameras: new Map(), selected: 0, index: yardIndex([], []), tileViews: [],
  };
  const canBatches = can("batches:read");

  async function loadCameras() {
    const r = await api("/api/cameras");
    if (r.status === 200) state.cameras = new Map((r.body.items || r.body).map((c) => [c.id, c]));
    return r.status;
  }
  async function loadYard() {
    const [sites, batches] = await Promise.all([
      can("sites:read") ? api("/api/sites") : Promise.resolve({ status: 0 }),
      canBatches ? api("/api/batches?status=in_progress&limit=500") : Promise.resolve({ status: 0 }),
    ]);
    state.index = yardIndex(sites.status === 200 ? sites.body : [], batches.status === 200 ? batches.body.items : []);
  }

  // --- layouts -------------------------------------------------------------------------------------------
  const layoutLabel = (name) => (name === DEFAULT_NAME ? t("layout_default") : name);
  function renderLayoutSelect() {
    const names = new Set(state.layouts.map((l) => l.name));
    names.add(state.name);
    $("#layout-select").replaceChildren(...[...names].sort().map((n) =>
      el("option", { value: n, selected: n === state.name }, layoutLabel(n))));
  }
  function useLayout(layout) {
    state.grid = layout.grid;
    state.tiles = Array.from({ length: layout.grid }, (_, i) => layout.tiles[i] || null);
    state.selected = 0;
    localStorage.setItem(`vms-wall-layout:${me.name}`, state.name);
    buildGrid();
    renderLayoutSelect();
  }
  function firstUse() {
    // No saved layout yet: the first cameras fill a 4-tile wall.
    const ids = [...state.cameras.keys()].slice(0, 4);
    return { grid: 4, tiles: ids.map((id) => ({ camera_id: id, stream: "auto" })) };
  }

  let saveTimer = null;
  function save() {
    clearTimeout(saveTimer);
    $("#save-state").textContent = t("saving");
    $("#save-state").dataset.state = "saving";
    saveTimer = setTimeout(async () => {
      const r = await api(`/api/viewer/layouts/${encodeURIComponent(state.name)}`, {
        method: "PUT", body: JSON.stringify({ grid: state.grid, tiles: state.tiles }) });
      $("#save-state").textContent = r.status === 200 ? t("saved") : `${t("save_failed")} (${(r.body && r.body.detail) || r.status})`;
      $("#save-state").dataset.state = r.status === 200 ? "saved" : "failed";
      if (r.status === 200 && !state.layouts.some((l) => l.name === state.name)) {
        state.layouts.push(r.body);
        renderLayoutSelect();
      } else if (r.status === 200) {
        state.layouts = state.layouts.map((l) => (l.name === state.name ? r.body : l));
      }
    }, 300);
  }

  // --- the grid ------------------------------------------------------------------------------------------
  function buildGrid() {
    for (const v of state.tileViews) v.destroy();
    const grid = $("#grid");
    grid.className = `grid g${state.grid}`;
    grid.dataset.grid = String(state.grid);
    state.tileViews = state.tiles.map((tile, i) => {
      const view = new Tile({ index: i, onSelect: select, onClear: clearTile, onDrop: (v, id) => assign(v.index, id) });
      grid.append(view.el);
      if (tile) view.setCamera(tile.camera_id, state.cameras.get(tile.camera_id) || null, tile.stream);
      return view;
    });
    select(state.tileViews[Math.min(state.selected, state.tileViews.length - 1)]);
    refreshTiles();
    renderGridButtons();
    renderCameraList();
  }
  function select(view) {
    state.selected = view.index;
    state.tileViews.forEach((v) => v.setSelected(v === view));
  }
  function assign(index, cameraId) {
    state.tiles[index] = { camera_id: cameraId, stream: "auto" };
    state.tileViews[index].setCamera(cameraId, state.cameras.get(cameraId) || null, "auto");
    refreshTiles();
    // the next empty tile (or the next one) is picked for the next camera
    const next = state.tiles.findIndex((x, i) => i > index && !x);
    select(state.tileViews[next >= 0 ? next : (index + 1) % state.tiles.length]);
    renderCameraList();
    save();
  }
  function clearTile(view) {
    state.tiles[view.index] = null;
    view.setCamera(null, null);
    select(view);
    renderCameraList();
    save();
  }
  function setGrid(n) {
    if (n === state.grid) return;
    state.grid = n;
    state.tiles = Array.from({ length: n }, (_, i) => state.tiles[i] || null);
    buildGrid();
    save();
  }
  function renderGridButtons() {
    $("#grid-buttons").replaceChildren(...GRIDS.map((n) => el("button", {
      type: "button", class: n === state.grid ? "on" : null, "aria-pressed": String(n === state.grid),
      dataset: { grid: String(n) }, onclick: () => setGrid(n) }, String(n))));
  }
  function refreshTiles() {
    for (const view of state.tileViews) {
      if (!view.cameraId) continue;
      const camera = state.cameras.get(view.cameraId) || null;
      view.update({ camera, bayLabel: state.index.bayLabel(camera), batch: state.index.batchFor(camera, canBatches) });
    }
  }

  // --- the camera list -----------------------------------------------------------------------------------
  let listSignature = "";
  function renderCameraList(force = true) {
    const q = $("#camera-search").value.trim().toLowerCase();
    const onWall = new Set(state.tiles.filter(Boolean).map((x) => x.camera_id));
    const signature = JSON.stringify([q, [...onWall], [...state.cameras.values()].map((c) => [c.id, c.name, c.status && c.status.state])]);
    if (!force && signature === listSignature) return;
    listSignature = signature;
    const items = [...state.cameras.values()]
      .filter((c) => !q || `${c.name} ${c.code} ${(c.bays || []).join(" ")}`.toLowerCase().includes(q))
      .map((c) => {
        const st = (c.status && c.status.state) || "offline";
        return el("li", { draggable: "true", dataset: { cameraId: String(c.id), code: c.code }, class: onWall.has(c.id) ? "on-wall" : null,
          title: onWall.has(c.id) ? t("in_tiles") : null,
          ondragstart: (ev) => ev.dataTransfer.setData("text/x-camera-id", String(c.id)),
          onclick: () => assign(state.selected, c.id) },
        el("span", { class: `dot st-${st}` }), el("span", { class: "cam-name" }, c.name || c.code),
        el("span", { class: "note" }, c.code));
      });
    $("#camera-list").replaceChildren(...items);
  }
  $("#camera-search").addEventListener("input", () => renderCameraList());

  // --- layout controls -----------------------------------------------------------------------------------
  $("#layout-select").addEventListener("change", (ev) => {
    state.name = ev.target.value;
    useLayout(state.layouts.find((l) => l.name === state.name) || { grid: state.grid, tiles: state.tiles });
  });
  $("#layout-new").addEventListener("click", () => {
    const name = (prompt(t("new_layout_prompt")) || "").trim();
    if (!name) return;
    state.name = name;
    useLayout({ grid: state.grid, tiles: [] });
    save();
  });
  $("#layout-delete").addEventListener("click", async () => {
    if (!confirm(t("confirm_delete_layout", { name: layoutLabel(state.name) }))) return;
    await api(`/api/viewer/layouts/${encodeURIComponent(state.name)}`, { method: "DELETE" });
    state.layouts = state.layouts.filter((l) => l.name !== state.name);
    state.name = state.layouts.length ? state.layouts[0].name : DEFAULT_NAME;
    useLayout(state.layouts[0] || firstUse());
  });

  onLanguageChange(() => { renderLayoutSelect(); for (const v of state.tileViews) v.render(); });

  // --- start ---------------------------------------------------------------------------------------------
  await Promise.all([loadCameras(), loadYard()]);
  const saved = await api("/api/viewer/layouts");
  state.layouts = saved.status === 200 ? saved.body.items : [];
  let layout = state.layouts.find((l) => l.name === state.name);
  if (!layout && state.layouts.length) { layout = state.layouts[0]; state.name = layout.name; }
  useLayout(layout || firstUse());
  if (!layout) save();

  every(3000, async () => { await loadCameras(); refreshTiles(); renderCameraList(false); });
  every(15000, async () => { await loadYard(); refreshTiles(); });
  window.vmsWall = state; // for the browser console
}
