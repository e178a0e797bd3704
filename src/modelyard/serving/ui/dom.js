// Building the page. Every value from the yard reaches the page as text (textContent),
// never as markup: h() appends strings as text nodes.

export const main = document.getElementById("main");
export const who = document.getElementById("who");
export const dialog = document.getElementById("dialog");
const toast = document.getElementById("toast");

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function present(nodes) {  // what to show of a page's parts (absent ones are null)
  return nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false);
}

export function table(caption, headers, rows, options = {}) {
  const numeric = new Set(options.numeric || []);
  return h(
    "table",
    { class: options.class },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((t, i) =>
      h("th", { scope: "col", class: numeric.has(i) ? "num" : null }, t)))),
    h("tbody", {}, rows.length
      ? rows.map((cells) => h("tr", {}, cells.map((c, i) =>
          h("td", { class: numeric.has(i) ? "num" : null }, c))))
      : h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, options.empty || "None."))),
  );
}

export function card(label, value, note) {
  return h("div", { class: "card" },
    h("div", { class: "label" }, label),
    h("div", { class: "value" }, value),
    note ? h("div", { class: "muted" }, note) : null);
}

export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(([, v]) => v !== undefined)
    .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v === null || v === "" ? "—" : v)]));
}

export function link(href, text) { return h("a", { href }, text); }

export function badge(alias, version) {
  const kind = alias === "production" || alias === "staging" ? alias : "";
  return h("span", { class: `badge ${kind}` }, version === undefined ? alias : `${alias} → v${version}`);
}

let toastTimer = null;

export function say(message) {
  toast.textContent = message;
  toast.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => toast.classList.remove("show"), 6000);
}

export function problemBox(error) {
  const body = error.body && error.body.error;
  const problems = (body && body.problems) || [];
  return h("div", { class: "error", role: "alert" },
    h("strong", {}, body ? body.message : error.message),
    problems.length ? h("ul", {}, problems.map((p) =>
      h("li", {}, [p.field || p.feature, p.rule].filter(Boolean).join(": ")))) : null);
}
