// The shell every page shares: the API helper, sign-in check, the header with the navigation the user's
// permissions allow, the language switch, times in the yard's time zone, and the "forbidden" message.
import { applyI18n, lang, onLanguageChange, setDefaultLanguage, setLanguage, t } from "./i18n.js";

export { t, lang, onLanguageChange };

export const session = { me: null, perms: new Set(), zone: "Asia/Shanghai" };

/** The pages of the UI and the permissions each needs (the header shows those the user may open). */
export const PAGES = [
  { href: "/ui/wall.html", key: "nav_wall", need: ["live:view", "cameras:read"] },
  { href: "/ui/desk.html", key: "nav_desk", need: ["live:view", "cameras:read"] },
  { href: "/ui/status.html", key: "nav_status", need: ["cameras:read"] },
  { href: "/ui/batches.html", key: "nav_batches", need: ["batches:read"] },
  { href: "/ui/upload.html", key: "nav_upload", need: ["evidence:upload", "batches:read"] },
  { href: "/docs", key: "nav_api", need: ["system:read"] },
];

export const can = (...perms) => perms.every((p) => session.perms.has(p));

/** fetch() for the API: JSON in and out, the header the session cookie needs; returns {status, body}. */
export async function api(path, opts = {}) {
  const headers = { "X-Requested-With": "vms", ...(opts.body !== undefined ? { "Content-Type": "application/json" } : {}),
    ...(opts.headers || {}) };
  let r;
  try {
    r = await fetch(path, { credentials: "same-origin", ...opts, headers });
  } catch (err) {
    return { status: 0, body: { error: "network", detail: String(err) } };
  }
  const body = r.status === 204 ? null : await r.json().catch(() => null);
  // The session ended (expired, signed out elsewhere): back to the sign-in page, then here again.
  if (r.status === 401 && session.me && !path.startsWith("/api/auth/")) goToLogin();
  return { status: r.status, body };
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** Creates an element: el("div", {class: "x", onclick: fn}, child, "text", ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

/** A time in the yard's time zone: style "datetime" (default), "time" or "date". */
export function fmtTime(value, style = "datetime") {
  if (!value) return "—";
  const d = value instanceof Date ? value : new Date(value);
  const opts = { timeZone: session.zone, hour12: false };
  if (style !== "time") Object.assign(opts, { year: "numeric", month: "2-digit", day: "2-digit" });
  if (style !== "date") Object.assign(opts, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return new Intl.DateTimeFormat(lang() === "zh" ? "zh-CN" : "en-GB", opts).format(d);
}

export function goToLogin() {
  const next = location.pathname + location.search + location.hash;
  location.replace(`/ui/login.html?next=${encodeURIComponent(next)}`);
}

export async function loadSystemInfo() {
  const info = await api("/api/system/info");
  if (info.status === 200) {
    session.zone = info.body.timezone || session.zone;
    setDefaultLanguage(info.body.default_language);
  }
}

function header(me, current) {
  const nav = el("nav", { "aria-label": "main" },
    ...PAGES.filter((p) => p.need.every((x) => session.perms.has(x))).map((p) =>
      el("a", { href: p.href, "data-i18n": p.key, class: location.pathname === p.href ? "current" : null,
        "aria-current": location.pathname === p.href ? "page" : null }, t(p.key))));
  const clock = el("span", { id: "clock", class: "clock", title: session.zone });
  const tick = () => { clock.textContent = `${t("yard_time")} ${fmtTime(new Date())}`; };
  tick();
  setInterval(tick, 1000);
  onLanguageChange(tick);
  const who = el("span", { id: "who", class: "who" });
  const showWho = () => { who.textContent = `${me.display_name || me.name} · ${t(`role_${me.role}`)}`; };
  showWho();
  onLanguageChange(showWho);
  return [
    el("a", { href: "/", class: "brand", "data-i18n": "app_title" }, t("app_title")),
    nav, el("span", { class: "spacer" }), clock, who,
    el("button", { type: "button", id: "lang", class: "lang", onclick: () => setLanguage(lang() === "zh" ? "en" : "zh") },
      t("lang_switch")),
    el("button", { type: "button", id: "logout", "data-i18n": "logout", onclick: logout }, t("logout")),
  ];
}

export async function logout() {
  await api("/api/auth/logout", { method: "POST" });
  location.replace("/ui/login.html");
}

/**
 * Starts a page: the yard's settings, who is signed in (else to the sign-in page), the header, and the
 * page's own permissions (``need``): without them the page shows only the forbidden message and this
 * returns null. Otherwise it returns the signed-in user (``/api/auth/me``).
 */
export async function boot({ need = [] } = {}) {
  await loadSystemInfo();
  const me = await api("/api/auth/me");
  if (me.status === 401) { goToLogin(); return null; }
  if (me.status !== 200) {
    document.body.append(el("p", { class: "error" }, `HTTP ${me.status}`));
    return null;
  }
  session.me = me.body;
  session.perms = new Set(me.body.permissions);
  const shell = $("#shell") || document.body.insertBefore(el("header", { id: "shell" }), document.body.firstChild);
  shell.replaceChildren(...header(me.body));
  onLanguageChange(() => { $("#lang").textContent = t("lang_switch"); });
  applyI18n(document);
  if (!need.every((p) => session.perms.has(p))) {
    showForbidden();
    return null;
  }
  const page = $("#page");
  if (page) page.hidden = false;
  return me.body;
}

export function showForbidden() {
  const page = $("#page");
  if (page) page.remove();
  const msg = el("section", { id: "forbidden", class: "forbidden", role: "alert" },
    el("h2", {}, ""), el("p", { class: "note", "data-i18n": "forbidden_hint" }, t("forbidden_hint")));
  const fill = () => { msg.firstChild.textContent = t("forbidden", { role: t(`role_${session.me.role}`) }); };
  fill();
  onLanguageChange(fill);
  document.body.append(msg);
}

/** Repeats ``fn`` every ``ms`` (after it finishes), starting now; returns a function that stops it. */
export function every(ms, fn) {
  let stopped = false;
  let timer = null;
  const run = async () => {
    try { await fn(); } catch (err) { console.error(err); }
    if (!stopped) timer = setTimeout(run, ms);
  };
  run();
  return () => { stopped = true; clearTimeout(timer); };
}

// --- times in the yard's zone (used by the batch search, review, upload pages and the timeline) ----------

const _offsetFormatters = new Map();
/** The yard zone's UTC offset at ``date``, in milliseconds (e.g. +8 h for Asia/Shanghai). */
export function zoneOffsetMs(date, zone = session.zone) {
  let f = _offsetFormatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    _offsetFormatters.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(date).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
  return asUtc - (Math.floor(date.getTime() / 1000) * 1000);
}

/** The instant of a wall-clock time in the yard: yardTime(2026, 3, 1, 8, 30) -> Date (month 1-12). */
export function yardTime(year, month, day, hour = 0, minute = 0, second = 0) {
  const guess = Date.UTC(year, month - 1, day, hour, minute, second);
  let at = guess - zoneOffsetMs(new Date(guess));
  at = guess - zoneOffsetMs(new Date(at)); // once more, in case the offset changes in between
  return new Date(at);
}

/** "YYYY-MM-DD" (an <input type=date> value) at the start of that yard day; null when empty. */
export function yardDay(value, addDays = 0) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
  return m ? yardTime(+m[1], +m[2], +m[3] + addDays) : null;
}

/** The yard-local date of an instant as "YYYY-MM-DD" (for <input type=date>). */
export function yardDateString(date) {
  const d = new Date(date.getTime() + zoneOffsetMs(date));
  return d.toISOString().slice(0, 10);
}

/** ISO 8601 of an instant with the yard's offset (the replay API wants an offset; the UI shows yard time). */
export function isoYard(date) {
  const off = zoneOffsetMs(date);
  const local = new Date(date.getTime() + off).toISOString().slice(0, 23);
  const sign = off < 0 ? "-" : "+";
  const abs = Math.abs(off) / 60000;
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** A byte count for people: 1.5 MB, 820 KB. */
export function fmtBytes(n) {
  if (n == null) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i ? v.toFixed(v < 10 ? 1 : 0) : v} ${units[i]}`;
}

/** A duration in seconds as h:mm:ss or m:ss. */
export function fmtDuration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "—";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** The message of an API error answer ({error, detail} or FastAPI's {detail}), else "HTTP status". */
export function apiMessage(res) {
  const b = res && res.body;
  if (b && typeof b.detail === "string") return b.detail;
  if (b && Array.isArray(b.detail)) return b.detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
  if (b && typeof b.message === "string") return b.message;
  if (b && typeof b.error === "string") return b.error;
  return `HTTP ${res ? res.status : "?"}`;
}
