// Sign-in page: the form posts to /api/auth/login (which sets the session cookie), then goes on to the
// page asked for (?next=, same site only) or to "/" (the home page of the user's role).
import { api, loadSystemInfo, $ } from "./app.js";
import { applyI18n, lang, setLanguage, t, onLanguageChange } from "./i18n.js";

function nextPage() {
  let url;
  try { url = new URL(new URLSearchParams(location.search).get("next") || "/", location.origin); } catch { return "/"; }
  if (url.origin !== location.origin || url.pathname === "/ui/login.html") return "/"; // this site only
  return url.pathname + url.search + url.hash;
}

// Handled before anything is awaited: a native submit would put the password in the address.
$("#login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const button = $("#signin");
  button.disabled = true;
  button.textContent = t("signing_in");
  const r = await api("/api/auth/login", { method: "POST",
    body: JSON.stringify({ username: form.get("username"), password: form.get("password") }) });
  button.disabled = false;
  button.textContent = t("signin");
  if (r.status !== 200) {
    $("#login-error").textContent = `${t("login_failed")}: ${(r.body && r.body.detail) || `HTTP ${r.status}`}`;
    return;
  }
  location.replace(nextPage());
});

await loadSystemInfo();
applyI18n(document);
const setLangLabel = () => { $("#lang").textContent = t("lang_switch"); document.title = t("app_title"); };
setLangLabel();
onLanguageChange(setLangLabel);
$("#lang").addEventListener("click", () => setLanguage(lang() === "zh" ? "en" : "zh"));

const me = await api("/api/auth/me");
if (me.status === 200) location.replace(nextPage());
else $("#signin").disabled = false; // (disabled in the page until the form is handled here)

