// Status page: the cameras with their live status and recordings, and the open alerts, refreshed every 2 s.
// Columns the user's role may not use (replay, export) and the alerts are left out.
import { $, api, boot, can, el, every, fmtTime, onLanguageChange, session, t } from "./app.js";
import { reasonText } from "./tile.js";

const me = await boot({ need: ["cameras:read"] });
if (me) main();

function main() {
  const replay = can("replay:view");
  const exportable = can("footage:export");
  document.querySelectorAll("th.replay").forEach((th) => { th.hidden = !replay; });
  document.querySelectorAll("th.export").forEach((th) => { th.hidden = !exportable; });
  $("#alerts-section").hidden = !can("alerts:read");
  $("#tz").textContent = session.zone;
  let latest = null;

  async function refresh() {
    const cams = await api("/api/cameras");
    if (cams.status !== 200) return;
    const end = new Date();
    const start = new Date(end.getTime() - 3600e3);
    const rows = await Promise.all((cams.body.items || cams.body).map(async (cam) => {
      const st = cam.status || {};
      const state = st.state || "offline";
      const reason = state !== "online" ? reasonText(st.reason, st.reason_message || "") : "";
      const cells = [
        el("td", {}, `${cam.name || cam.code} (${cam.code})`),
        el("td", { class: `state-${state}` }, t(state) + (reason ? ` — ${reason}` : "")),
        el("td", {}, st.fps != null ? st.fps.toFixed(1) : "—"),
        el("td", {}, st.bitrate_bps != null ? `${(st.bitrate_bps / 1e6).toFixed(2)} Mbit/s` : "—"),
      ];
      if (replay) {
        const fp = await api(`/api/cameras/${cam.id}/footage?start=${start.toISOString()}&end=${end.toISOString()}`);
        const segs = fp.status === 200 ? fp.body.segments || [] : [];
        cells.push(el("td", {}, fp.status === 200 ? `${segs.length} ${t("segments")}` : "—"));
        cells.push(el("td", {}, segs.length ? fmtTime(segs[segs.length - 1].end) : "—"));
        if (exportable) {
          const last = segs.length ? new Date(segs[segs.length - 1].end) : null;
          cells.push(el("td", {}, last ? el("a", {
            href: `/api/cameras/${cam.id}/clip.mp4?start=${new Date(last - 60e3).toISOString()}&end=${last.toISOString()}` }, t("last_minute")) : ""));
        }
      }
      return el("tr", { dataset: { code: cam.code } }, ...cells);
    }));
    $("#cameras").replaceChildren(...rows);
    if (can("alerts:read")) {
      const alerts = await api("/api/alerts");
      const items = alerts.status === 200 ? alerts.body.items || alerts.body : [];
      $("#alerts").replaceChildren(...(items.length
        ? items.map((a) => el("li", {}, `${fmtTime(a.raised_at)} ${a.message}`))
        : [el("li", {}, t("none"))]));
    }
    latest = new Date();
    $("#updated").textContent = fmtTime(latest);
  }

  onLanguageChange(() => { if (latest) $("#updated").textContent = fmtTime(latest); refresh(); });
  every(2000, refresh);
}
