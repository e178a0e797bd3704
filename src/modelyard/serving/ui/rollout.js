// The control sections of an endpoint's page: its rollout (pause, resume, abort), its A/B
// test and its policies.

import { api } from "./api.js";
import { openDialog } from "./dialog.js";
import { facts, h, table } from "./dom.js";
import { enc, num, when } from "./format.js";
import { canWrite } from "./session.js";

export function rolloutSection(endpoint, rollout) {
  if (!rollout) return [h("h2", {}, "Rollout"), h("p", { class: "muted" }, "No rollout has run on this endpoint.")];
  const live = rollout.state === "running" || rollout.state === "paused";
  const button = (step, label, danger) => h("button", {
    class: danger ? "danger" : null, disabled: !canWrite(),
    title: canWrite() ? null : "needs a key with the write scope",
    onclick: () => rolloutDialog(endpoint, step, rollout) }, label);
  return [
    h("h2", {}, "Rollout"),
    facts([
      ["State", h("strong", { id: "rollout-state" }, rollout.state)],
      ["Candidate", rollout.plan.candidate],
      ["Baseline", rollout.plan.baseline],
      ["Step", `${rollout.step} of ${rollout.plan.steps.length}: ${rollout.weight} % to the candidate (steps ${rollout.plan.steps.join(", ")})`],
      ["Checks", rollout.plan.checks.join("; ") || "—"],
      ["Step started", when(rollout.step_started_at)],
      ["Last word", rollout.message || "—"],
    ]),
    live ? h("div", { class: "row" },
      rollout.state === "running" ? button("pause", "Pause…") : button("resume", "Resume…"),
      button("abort", "Abort…", true)) : null,
    table("Steps and decisions, newest first", ["When", "Action", "By", "Detail"],
      (rollout.history || []).slice(0, 12).map((e) => [when(e.at), e.action, e.actor,
        e.details.message || e.details.reason || JSON.stringify(e.details.checks || {})])),
  ];
}

export function abtestSection(report) {
  if (!report) return null;
  const arm = (a) => `${a.version}: n=${num(a.n)}, ${report.metric} ${num(a.value ?? a.mean ?? a.rate, 4)}`;
  return [
    h("h2", {}, "A/B test"),
    facts([
      ["State", report.state],
      ["Metric", report.metric],
      ["A", arm(report.arms.a)],
      ["B", arm(report.arms.b)],
      ["B − A", report.difference ? `${num(report.difference.estimate, 4)} [${num(report.difference.low, 4)}, ${num(report.difference.high, 4)}]` : "—"],
      ["Test", report.test ? `${report.test}: p = ${num(report.p_value, 3)}${report.significant ? " (significant)" : ""}` : "—"],
      ["Warnings", report.warnings.length ? report.warnings.join("; ") : "—"],
    ]),
  ];
}

export function policySection(data) {
  if (!data || !data.policies.length) return null;
  return [
    h("h2", {}, "Policies"),
    table(null, ["Id", "When", "Then", "State"], data.policies.map((p) => [
      String(p.id), p.condition, p.action?.kind ?? JSON.stringify(p.action), p.state?.status ?? JSON.stringify(p.state ?? {})])),
  ];
}

function rolloutDialog(endpoint, step, rollout) {
  const what = { pause: "Pause", resume: "Resume", abort: "Abort" }[step];
  const effect = {
    pause: "The rollout stays at its current weight and stops advancing until resumed.",
    resume: "The rollout carries on from its current step; the step's interval starts again.",
    abort: "The candidate's traffic goes back to the baseline: the routes are restored as they were before the rollout.",
  }[step];
  openDialog(
    `${what} the rollout of ${rollout.plan.candidate} on ${endpoint}`,
    h("p", {}, effect),
    `${what} rollout`,
    async (reason) => {
      const result = await api(`/api/endpoints/${enc(endpoint)}/rollout/${step}`, {
        method: "POST", body: { reason } });
      return `rollout ${result.state} at ${result.weight} %`;
    },
    { danger: step === "abort" },
  );
}
