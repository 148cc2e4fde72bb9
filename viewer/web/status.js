// Status page: sign in, then the cameras with their live status and recordings, refreshed every 2 s.
const T = {
  zh: { title: "查验场视频监控", login: "登录", username: "用户名", password: "密码", signin: "登录", logout: "退出",
        cameras: "摄像机", camera: "摄像机", state: "状态", bitrate: "码率", recorded: "已录制", last_segment: "最新片段",
        clip: "片段下载", last_minute: "最近1分钟", alerts: "告警", none: "无", tz: "时区", updated: "更新于",
        forbidden: "您的角色无权查看此页面。", online: "在线", offline: "离线", connecting: "连接中", error: "错误",
        segments: "段", lang: "English" },
  en: { title: "Inspection yard VMS", login: "Sign in", username: "User name", password: "Password", signin: "Sign in",
        logout: "Sign out", cameras: "Cameras", camera: "Camera", state: "Status", bitrate: "Bitrate",
        recorded: "Recorded", last_segment: "Latest segment", clip: "Clip", last_minute: "last minute", alerts: "Alerts",
        none: "none", tz: "Time zone", updated: "updated", forbidden: "Your role may not see this page.",
        online: "online", offline: "offline", connecting: "connecting", error: "error", segments: "segments",
        lang: "中文" },
};
let lang = localStorage.getItem("vms-lang") || "zh";
let zone = "Asia/Shanghai";
let timer = null;
const $ = (id) => document.getElementById(id);
const t = (key) => (T[lang] && T[lang][key]) || key;
const api = async (path, opts = {}) => {
  const r = await fetch(path, { ...opts, headers: { "X-Requested-With": "vms", "Content-Type": "application/json", ...(opts.headers || {}) } });
  const body = r.status === 204 ? null : await r.json().catch(() => null);
  return { status: r.status, body };
};
const fmt = (iso) => iso ? new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB",
  { timeZone: zone, dateStyle: "short", timeStyle: "medium" }).format(new Date(iso)) : "—";

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("lang").textContent = t("lang");
}

function cell(text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; }

async function refresh() {
  const cams = await api("/api/cameras");
  if (cams.status === 401) return showLogin();
  if (cams.status === 403) { $("status").hidden = true; $("forbidden").hidden = false; return; }
  const rows = [];
  for (const cam of cams.body.items || cams.body) {
    const tr = document.createElement("tr");
    const st = cam.status || {};
    const state = st.state || "offline";
    tr.append(cell(`${cam.name || cam.code} (${cam.code})`));
    tr.append(cell(t(state) + (state !== "online" && st.reason_message ? ` — ${st.reason_message}` : ""), `state-${state}`));
    tr.append(cell(st.fps != null ? st.fps.toFixed(1) : "—"));
    tr.append(cell(st.bitrate_bps != null ? `${(st.bitrate_bps / 1e6).toFixed(2)} Mbit/s` : "—"));
    const end = new Date(); const start = new Date(end.getTime() - 3600e3);
    const fp = await api(`/api/cameras/${cam.id}/footage?start=${start.toISOString()}&end=${end.toISOString()}`);
    const segs = fp.status === 200 ? (fp.body.segments || []) : [];
    tr.append(cell(fp.status === 200 ? `${segs.length} ${t("segments")}` : "—"));
    tr.append(cell(segs.length ? fmt(segs[segs.length - 1].end) : "—"));
    const td = document.createElement("td");
    if (segs.length) {
      const a = document.createElement("a");
      const last = new Date(segs[segs.length - 1].end);
      a.href = `/api/cameras/${cam.id}/clip.mp4?start=${new Date(last - 60e3).toISOString()}&end=${last.toISOString()}`;
      a.textContent = t("last_minute");
      td.append(a);
    }
    tr.append(td);
    rows.push(tr);
  }
  $("cameras").replaceChildren(...rows);
  const alerts = await api("/api/alerts");
  const items = alerts.status === 200 ? (alerts.body.items || alerts.body) : [];
  $("alerts").replaceChildren(...(items.length ? items.map((a) => { const li = document.createElement("li"); li.textContent = `${fmt(a.raised_at)} ${a.message}`; return li; })
    : [Object.assign(document.createElement("li"), { textContent: t("none") })]));
  $("updated").textContent = fmt(new Date().toISOString());
}

function showLogin() {
  clearInterval(timer);
  $("status").hidden = true; $("logout").hidden = true; $("login").hidden = false; $("who").textContent = "";
}

async function showStatus(me) {
  $("login").hidden = true; $("logout").hidden = false; $("status").hidden = false;
  $("who").textContent = `${me.display_name || me.name} · ${me.role}`;
  $("tz").textContent = zone;
  await refresh();
  clearInterval(timer);
  timer = setInterval(refresh, 2000);
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const r = await api("/api/auth/login", { method: "POST", body: JSON.stringify({ username: form.get("username"), password: form.get("password") }) });
  if (r.status !== 200) { $("login-error").textContent = (r.body && r.body.detail) || `HTTP ${r.status}`; return; }
  $("login-error").textContent = "";
  const me = await api("/api/auth/me");
  showStatus(me.body);
});
$("logout").addEventListener("click", async () => { await api("/api/auth/logout", { method: "POST" }); showLogin(); });
$("lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("vms-lang", lang); applyLanguage(); });

const info = await api("/api/system/info");
if (info.status === 200) { zone = info.body.timezone; if (!localStorage.getItem("vms-lang")) lang = info.body.default_language; }
applyLanguage();
const me = await api("/api/auth/me");
if (me.status === 200) showStatus(me.body); else showLogin();
