// Moving a model's aliases: promote (the gate's report first) and roll back.

import { api } from "./api.js";
import { openDialog } from "./dialog.js";
import { h, problemBox, table } from "./dom.js";
import { enc } from "./format.js";

export function gateTable(report) {
  return [
    h("p", { class: report.passed ? "ok" : "bad", id: "gate-verdict" },
      h("strong", {}, report.passed ? "The gate passes" : "The gate fails"),
      ` — ${report.candidate} against ${report.champion || "no current version"} (${report.alias})`),
    table(null, ["Check", "Result", "Detail"], report.checks.map((c) => [
      c.name, h("span", { class: c.passed ? "ok" : "bad" }, c.passed ? "pass" : "fail"), c.detail])),
  ];
}

export function promoteDialog(name, version, aliases) {
  const alias = h("input", { id: "alias", value: "production", required: true, maxlength: 64,
    list: "known-aliases" });
  const known = h("datalist", { id: "known-aliases" },
    [...new Set(["production", "staging", ...Object.keys(aliases)])].map((a) => h("option", { value: a })));
  const force = h("input", { id: "force", type: "checkbox" });
  const forceLabel = h("label", { class: "inline", for: "force", hidden: true }, force,
    "Promote even though the gate fails (the reason is recorded as the override)");
  const report = h("div", { id: "gate-report", "aria-live": "polite" });
  let passed = false;
  const runGate = async () => {
    ui.confirm.disabled = true;
    report.replaceChildren(h("p", { class: "muted" }, "Running the promotion gate…"));
    try {
      const result = await api(`/api/models/${enc(name)}/gate`, {
        method: "POST", body: { version, alias: alias.value.trim() } });
      passed = result.passed;
      report.replaceChildren(...gateTable(result));
      forceLabel.hidden = passed;
      ui.confirm.disabled = !passed && !force.checked;
    } catch (e) {
      report.replaceChildren(problemBox(e));
    }
  };
  force.addEventListener("change", () => { ui.confirm.disabled = !passed && !force.checked; });
  alias.addEventListener("change", runGate);
  const ui = openDialog(
    `Promote ${name} v${version}`,
    [h("p", { class: "sub" }, "The promotion gate judges the candidate against the version the alias points at now; the alias moves only if it passes."),
      h("label", { for: "alias" }, "Alias", alias), known, report, forceLabel],
    "Promote",
    async (reason) => {
      try {
        // expect: the version this page shows for the alias (0: unset), so a move made by
        // someone else since the page was drawn is refused (409) instead of replaced.
        const target = alias.value.trim();
        const expect = Object.hasOwn(aliases, target) ? aliases[target] : 0;
        const result = await api(`/api/models/${enc(name)}/promote`, {
          method: "POST", body: { version, alias: target, reason, force: force.checked, expect } });
        return `${name}@${target} → v${version}${result.forced ? " (forced past the gate)" : ""}`;
      } catch (e) {
        if (e.body && e.body.report) { report.replaceChildren(...gateTable(e.body.report)); forceLabel.hidden = false; }
        throw e;
      }
    },
    { focus: alias },
  );
  runGate();
}

export function rollbackDialog(name, alias, version) {
  openDialog(
    `Roll back ${name}@${alias}`,
    h("p", {}, `${name}@${alias} points at v${version} now; rolling back points it at the version it pointed at before. Servers swap within seconds.`),
    "Roll back",
    async (reason) => {
      const event = await api(`/api/models/${enc(name)}/rollback`, {
        method: "POST", body: { alias, reason, expect: version } });
      return `${name}@${alias}: v${event.from_version} → v${event.to_version}`;
    },
    { danger: true },
  );
}
