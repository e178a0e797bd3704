// The models page: a page of models with their aliases, searchable by name.

import { api } from "./api.js";
import { badge, h, link, table } from "./dom.js";
import { enc, num, when } from "./format.js";
import { go } from "./router.js";

export async function modelsPage(query) {
  const limit = 50;
  const offset = Math.max(0, Number(query.get("offset")) || 0);
  const q = query.get("q") || "";
  const data = await api(`/api/models?limit=${limit}&offset=${offset}${q ? `&q=${enc(q)}` : ""}`);
  const search = h("input", { id: "model-search", type: "search", value: q, maxlength: 64 });
  const rows = data.models.map((m) => {
    const others = Object.entries(m.aliases).filter(([a]) => a !== "production" && a !== "staging");
    return [
      link(`#/models/${enc(m.name)}`, m.name),
      m.aliases.production ? `v${m.aliases.production}` : "—",
      m.aliases.staging ? `v${m.aliases.staging}` : "—",
      others.length ? others.map(([a, v]) => badge(a, v)) : "—",
      m.latest_version ? `v${m.latest_version}` : "—",
      num(m.versions),
      when(m.last_change),
    ];
  });
  const last = Math.min(offset + limit, data.total);
  return [
    h("h1", {}, "Models"),
    h("p", { class: "sub" }, `${num(data.total)} model${data.total === 1 ? "" : "s"} in the yard`),
    h("form", { class: "row", role: "search",
      onsubmit: (e) => { e.preventDefault(); go("/models", { q: search.value.trim() }); } },
    h("label", { for: "model-search" }, "Name contains", search),
    h("button", { type: "submit" }, "Search")),
    table(null, ["Model", "Production", "Staging", "Other aliases", "Latest", "Versions",
      "Last change"], rows, { numeric: [5], empty: q ? "No model matches." : "No models yet." }),
    pager(offset, limit, data.total, last, (o) => go("/models", { q, offset: o })),
  ];
}

function pager(offset, limit, total, last, goto) {
  if (total <= limit) return null;
  return h("nav", { class: "pager", "aria-label": "Pages" },
    h("button", { disabled: offset === 0, onclick: () => goto(Math.max(0, offset - limit)) }, "← Previous"),
    h("span", {}, `${offset + 1}–${last} of ${num(total)}`),
    h("button", { disabled: last >= total, onclick: () => goto(offset + limit) }, "Next →"));
}
