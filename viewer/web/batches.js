// Batch search: by number (part of it), declaration, container, site, bay, inspector, status and yard dates.
// The filters are kept in the address (batches.html?number=...&site=...) so a search can be bookmarked.
// Inspectors see only their own batches (the API narrows the list) and get a link to upload body-cam files.
import { $, api, apiMessage, boot, can, el, fmtTime, onLanguageChange, t, yardDay } from "./app.js";

const PAGE = 50;
const STATUSES = ["planned", "in_progress", "completed", "cancelled"];
const me = await boot({ need: ["batches:read"] });
if (me) await main();

async function main() {
  const form = $("#search");
  let sites = [];
  let rows = [];
  let total = 0;

  if (can("sites:read")) {
    const res = await api("/api/sites");
    if (res.status === 200) sites = res.body;
  }
  function fillSelects() {
    const site = $("#f-site").value;
    const bay = $("#f-bay").value;
    const status = $("#f-status").value;
    $("#f-site").replaceChildren(el("option", { value: "" }, t("any")),
      ...sites.map((s) => el("option", { value: s.code }, s.name ? `${s.name} (${s.code})` : s.code)));
    $("#f-site").value = site;
    const bays = sites.filter((s) => !site || s.code === site).flatMap((s) => (s.bays || []).map((b) => ({ ...b, site: s })));
    const codes = [...new Set(bays.map((b) => b.code))];
    $("#f-bay").replaceChildren(el("option", { value: "" }, t("any")), ...codes.map((code) => {
      const b = bays.find((x) => x.code === code);
      return el("option", { value: code }, b.name ? `${b.name} (${code})` : code);
    }));
    $("#f-bay").value = codes.includes(bay) ? bay : "";
    $("#f-status").replaceChildren(el("option", { value: "" }, t("any")),
      ...STATUSES.map((s) => el("option", { value: s }, t(`bs_${s}`))));
    $("#f-status").value = status;
  }
  $("#f-site").addEventListener("change", fillSelects);

  function fromAddress() {
    const q = new URLSearchParams(location.search);
    fillSelects();
    for (const name of ["number", "declaration", "container", "site", "inspector", "status", "from", "to"]) {
      if (q.has(name)) form.elements[name].value = q.get(name);
    }
    fillSelects();
    if (q.has("bay")) form.elements.bay.value = q.get("bay");
  }

  /** The API query of the form: number is matched as a part; dates are whole yard days. */
  function query(offset) {
    const f = form.elements;
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    const put = (k, v) => { if (v && v.trim()) q.set(k, v.trim()); };
    put("number_contains", f.number.value);
    put("declaration", f.declaration.value);
    put("container", f.container.value.toUpperCase());
    put("site", f.site.value);
    put("bay", f.bay.value);
    put("inspector", f.inspector.value);
    put("status", f.status.value);
    const from = yardDay(f.from.value);
    const to = yardDay(f.to.value, 1);
    if (from) q.set("from", from.toISOString());
    if (to) q.set("to", to.toISOString());
    return q;
  }

  function keepInAddress() {
    const q = new URLSearchParams();
    for (const name of ["number", "declaration", "container", "site", "bay", "inspector", "status", "from", "to"]) {
      const v = form.elements[name].value.trim();
      if (v) q.set(name, v);
    }
    history.replaceState(null, "", q.toString() ? `?${q}` : location.pathname);
  }

  async function search(append = false) {
    $("#search-error").textContent = "";
    const res = await api(`/api/batches?${query(append ? rows.length : 0)}`);
    if (res.status !== 200) {
      $("#search-error").textContent = apiMessage(res);
      return;
    }
    rows = append ? rows.concat(res.body.items) : res.body.items;
    total = res.body.total;
    render();
  }

  function render() {
    $("#count").textContent = rows.length ? t("n_results", { n: total }) : t("no_results");
    $("#more").hidden = rows.length >= total;
    const siteName = (code) => (sites.find((s) => s.code === code) || {}).name || code || "";
    const bayName = (siteCode, code) => {
      const site = sites.find((s) => s.code === siteCode);
      return ((site && (site.bays || []).find((b) => b.code === code)) || {}).name || code || "";
    };
    $("#results").replaceChildren(...rows.map((b) => {
      const start = b.actual_start || b.planned_start;
      const end = b.actual_end || b.planned_end;
      const review = `/ui/review.html?id=${b.id}`;
      return el("tr", { dataset: { number: b.number, id: String(b.id) }, class: b.disputed ? "disputed" : null },
        el("td", {}, el("a", { href: review, class: "batch-link" }, b.number)),
        el("td", {}, b.declaration_no || "—"),
        el("td", {}, (b.containers || []).join(", ") || "—"),
        el("td", {}, b.goods || "—"),
        el("td", {}, b.site ? `${siteName(b.site)} / ${bayName(b.site, b.bay)}` : "—"),
        el("td", {}, start ? `${fmtTime(start)} – ${end ? fmtTime(end, "time") : "…"}` : "—"),
        el("td", {}, el("span", { class: `bs bs-${b.status}` }, t(`bs_${b.status}`)),
          b.disputed ? el("span", { class: "badge hold" }, t("disputed")) : null),
        el("td", {}, (b.inspectors || []).join(", ")),
        el("td", { class: "actions" }, el("a", { href: review }, t("open_review")),
          can("evidence:upload") ? el("a", { href: `/ui/upload.html?batch=${encodeURIComponent(b.number)}`, class: "upload-link" }, t("upload_for")) : null));
    }));
  }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); keepInAddress(); search(); });
  $("#reset-search").addEventListener("click", () => { form.reset(); fillSelects(); keepInAddress(); search(); });
  $("#more").addEventListener("click", () => search(true));
  onLanguageChange(() => { fillSelects(); render(); });
  fromAddress();
  await search();
}
