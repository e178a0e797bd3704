// The audit log: every change to the yard, newest first, filtered and paged back.

import { api } from "./api.js";
import { h, table } from "./dom.js";
import { num, when } from "./format.js";
import { go } from "./router.js";

export async function auditPage(query) {
  const filters = { target: query.get("target") || "", action: query.get("action") || "",
    actor: query.get("actor") || "" };
  const before = query.get("before");
  const params = new URLSearchParams({ limit: "50" });
  for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
  if (before) params.set("before", before);
  const data = await api(`/api/audit?${params}`);
  const inputs = Object.fromEntries(Object.keys(filters).map((k) =>
    [k, h("input", { id: `audit-${k}`, value: filters[k], maxlength: k === "target" ? 256 : 128 })]));
  const rows = data.events.map((e) => [
    num(e.seq), when(e.at), e.actor, e.action, e.target, e.details.reason || "—",
    h("details", {}, h("summary", {}, "details"), h("pre", {}, JSON.stringify(e.details, null, 2))),
  ]);
  return [
    h("h1", {}, "Audit log"),
    h("p", { class: "sub" }, "Every change to the yard: who, when, what and why. Newest first."),
    h("form", { class: "row", role: "search",
      onsubmit: (ev) => {
        ev.preventDefault();
        go("/audit", Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()])));
      } },
    h("label", { for: "audit-target" }, "Target (churn, churn@3, endpoint:churn-api)", inputs.target),
    h("label", { for: "audit-action" }, "Action (promote, gate.*)", inputs.action),
    h("label", { for: "audit-actor" }, "Actor", inputs.actor),
    h("button", { type: "submit" }, "Filter")),
    table(null, ["#", "When", "Actor", "Action", "Target", "Reason", ""], rows,
      { numeric: [0], empty: "No event matches." }),
    h("nav", { class: "pager", "aria-label": "Pages" },
      before ? h("button", { onclick: () => go("/audit", filters) }, "Newest") : null,
      data.next_before ? h("button", { onclick: () => go("/audit", { ...filters, before: data.next_before }) }, "Older →") : null),
  ];
}
