// Hash routes (#/models/churn?version=2): which page draws, and drawing it into <main>.
// The entry (app.js) hands over the table of routes and the hooks around each draw.

import { h, link, main, present, problemBox } from "./dom.js";

const routes = [];  // [pattern, page(...captures, query), nav section]
const hooks = {
  before: async () => {},  // before a page asks the API for anything (the session)
  after: async () => {},  // once the page is in the document (charts)
  failed: () => false,  // true when it handled the error itself (a 401: the key form)
};

export function here() {
  const raw = window.location.hash.replace(/^#/, "") || "/models";
  const [path, search] = raw.split("?");
  return { path, query: new URLSearchParams(search || "") };
}

export function go(path, query) {
  const search = query ? new URLSearchParams(
    Object.entries(query).filter(([, v]) => v !== null && v !== undefined && v !== "")).toString() : "";
  window.location.hash = search ? `${path}?${search}` : path;
}

export async function render() {
  const { path, query } = here();
  const found = routes.map(([pattern, page, section]) => [path.match(pattern), page, section])
    .find(([m]) => m);
  for (const a of document.querySelectorAll("nav a")) {
    a.toggleAttribute("aria-current", Boolean(found && a.dataset.section === found[2]));
    if (found && a.dataset.section === found[2]) a.setAttribute("aria-current", "page");
  }
  if (!found) {
    main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, "No page at ", path, ". "),
      link("#/models", "Models"));
    return;
  }
  const [match, page] = found;
  main.setAttribute("aria-busy", "true");
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    await hooks.before();
    const args = match.slice(1).map(decodeURIComponent);
    const content = await page(...args, query);
    main.replaceChildren(...present([content]));
  } catch (e) {
    if (!hooks.failed(e)) main.replaceChildren(h("h1", {}, "Something went wrong"), problemBox(e));
  } finally {
    main.removeAttribute("aria-busy");
  }
  await hooks.after();
}

export function start(table, options) {
  routes.push(...table);
  Object.assign(hooks, options);
  window.addEventListener("hashchange", () => { render(); main.focus({ preventScroll: true }); });
  return render();
}
