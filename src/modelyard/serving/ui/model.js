// A model's page: aliases, versions side by side, alias history, and one version's details
// (lineage, metrics, signature) below the table when one is picked.

import { api } from "./api.js";
import { badge, facts, h, link, main, problemBox, table } from "./dom.js";
import { enc, num, when } from "./format.js";
import { promoteDialog, rollbackDialog } from "./promote.js";
import { go } from "./router.js";
import { canWrite } from "./session.js";

export async function modelPage(name, query) {
  const model = await api(`/api/models/${enc(name)}`);
  const metricNames = [...new Set(model.versions.flatMap((v) => Object.keys(v.metrics)))].sort();
  const shown = metricNames.slice(0, 8);
  const details = h("section", { id: "version-details", "aria-live": "polite" });
  const selected = Number(query.get("version")) || null;
  const rows = model.versions.map((v) => [
    h("button", { class: "small", "aria-label": `Details of version ${v.version}`,
      onclick: () => go(`/models/${enc(name)}`, { version: v.version }) }, `v${v.version}`),
    v.status,
    v.aliases.length ? v.aliases.map((a) => badge(a)) : "—",
    ...shown.map((m) => num(v.metrics[m], 4)),
    v.inputs ?? "—",
    when(v.created_at),
    v.created_by,
    canWrite() && v.status === "ready"
      ? h("button", { class: "small", onclick: () => promoteDialog(name, v.version, model.aliases) },
        `Promote v${v.version}…`)
      : "—",
  ]);
  const aliasRows = Object.entries(model.aliases).sort().map(([alias, version]) => [
    badge(alias), `v${version}`,
    canWrite()
      ? h("button", { class: "small", onclick: () => rollbackDialog(name, alias, version) },
        `Roll back ${alias}…`)
      : "—",
  ]);
  const history = model.alias_history.map((e) => [
    when(e.at), badge(e.alias), e.kind,
    e.from_version ? `v${e.from_version}` : "—", e.to_version ? `v${e.to_version}` : "—",
    e.actor, e.reason || "—",
  ]);
  if (selected) versionDetails(name, selected, details);
  return [
    h("p", {}, link("#/models", "← Models")),
    h("h1", {}, model.name),
    model.description ? h("p", { class: "sub" }, model.description) : null,
    h("p", { class: "sub" }, `${model.versions.length} version(s) · latest ready v${model.latest_version ?? "—"} · `,
      h("a", { href: `#/audit?target=${enc(name)}` }, "audit log")),
    h("h2", {}, "Aliases"),
    table(null, ["Alias", "Points at", "Action"], aliasRows, { empty: "No aliases yet." }),
    h("h2", {}, "Versions"),
    table("Newest first; metrics as registered, side by side.",
      ["Version", "Status", "Aliases", ...shown, "Inputs", "Registered", "By", "Action"], rows,
      { numeric: shown.map((_, i) => i + 3) }),
    details,
    h("h2", {}, "Alias history"),
    table(null, ["When", "Alias", "Change", "From", "To", "By", "Reason"], history,
      { empty: "No alias has moved yet." }),
  ];
}

// Stored kinds as the CLI shows them (domain/kinds.py): "category" is the closed kind.
const KIND_LABELS = { category: "category (closed)", open: "category (open)", string: "string (legacy)" };

async function versionDetails(name, version, into) {
  try {
    const v = await api(`/api/models/${enc(name)}/versions/${version}`);
    const lineage = v.lineage;
    const inputs = (v.signature.inputs || []).map((f) => [
      f.name, KIND_LABELS[f.kind] ?? f.kind, f.nullable ? "yes" : "no",
      f.categories ? f.categories.slice(0, 8).join(", ") + (f.categories.length > 8 ? " …" : "")
        : f.min == null && f.max == null ? "—" : `${num(f.min)} … ${num(f.max)}`,
    ]);
    const output = v.signature.output || {};
    into.replaceChildren(
      h("h2", { tabindex: "-1", id: "details-title" }, `Version ${v.version}`),
      h("div", { class: "two" },
        h("div", {},
          h("h3", {}, "Lineage"),
          facts([
            ["Run", lineage.run ? `${lineage.run.experiment} / ${lineage.run.name || lineage.run.id}` : null],
            ["Run id", lineage.run ? lineage.run.id : null],
            ["Datasets", lineage.datasets.length ? lineage.datasets.map((d) => `${d.ref} (${num(d.rows)} rows)`).join(", ") : null],
            ["Code commit", lineage.code.commit ? `${lineage.code.commit.slice(0, 12)}${lineage.code.dirty ? " (dirty)" : ""}` : null],
            ["Branch", lineage.code.branch],
            ["Python", lineage.environment.python],
            ["Flavor", v.flavor],
            ["Files", lineage.version.files.map((f) => `${f.name} (${num(f.size)} B)`).join(", ")],
            ["Parameters", Object.keys(v.params).length ? JSON.stringify(v.params) : null],
            ["Reference", v.checks_off ?? "profile of the registration sample (drift and the gate's data checks on)"],
          ])),
        h("div", {},
          h("h3", {}, "Metrics"),
          table(null, ["Metric", "Value"], Object.entries(v.metrics).map(([k, x]) => [k, num(x, 5)]),
            { numeric: [1], empty: "No metrics registered." }))),
      h("h3", {}, "Signature"),
      h("p", { class: "sub" }, `Output: ${output.kind || "—"}${output.classes ? `, classes ${output.classes.join(", ")}` : ""}`),
      table(null, ["Input", "Kind", "Nullable", "Range or categories"], inputs),
    );
    for (const tr of main.querySelectorAll("tbody tr")) {
      const button = tr.querySelector("td button");
      tr.classList.toggle("selected", Boolean(button && button.textContent === `v${version}`));
    }
  } catch (e) {
    into.replaceChildren(problemBox(e));
  }
}
