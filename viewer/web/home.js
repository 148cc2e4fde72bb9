// Home page for roles whose work is not (yet) in the web UI: who they are and the pages they may open.
import { $, PAGES, boot, el, onLanguageChange, session, t } from "./app.js";

const me = await boot();
if (me) {
  const render = () => {
    $("#welcome").textContent = t("home_welcome", { name: me.display_name || me.name });
    const pages = PAGES.filter((p) => p.need.every((x) => session.perms.has(x)));
    $("#home-pages-title").textContent = pages.length ? t("home_pages") : t("home_none");
    $("#home-pages").replaceChildren(...pages.map((p) => el("li", {}, el("a", { href: p.href }, t(p.key)))));
  };
  render();
  onLanguageChange(render);
}
