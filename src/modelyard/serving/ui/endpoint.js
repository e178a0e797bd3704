// An endpoint's monitoring page: traffic split, latency, refused requests and server errors,
// drift and quality per version over a period, with charts (endpoint-charts.js), the
// sections optional summary keys bring (panels.js), then its rollout, A/B test and policies.

import { api, optional } from "./api.js";
import { COLORS, loadPlotly } from "./charts.js";
import { card, h, link, table } from "./dom.js";
import { endpointCharts } from "./endpoint-charts.js";
import { enc, ms, num, pct, routesText } from "./format.js";
import { extraSections } from "./panels.js";
import { periodOf, periodPicker } from "./period.js";
import { estimateText, qualityText } from "./quality.js";
import { abtestSection, policySection, rolloutSection } from "./rollout.js";

function splitBar(parts) {
  const total = parts.reduce((s, p) => s + p.value, 0);
  if (!total) return h("p", { class: "muted" }, "No traffic in this period.");
  return h("div", { class: "split", role: "img",
    "aria-label": parts.map((p) => `${p.label} ${Math.round((100 * p.value) / total)} percent`).join(", ") },
  parts.filter((p) => p.value > 0).map((p, i) => h("span", {
    style: `width:${(100 * p.value) / total}%;background:${COLORS[i % COLORS.length]}`,
    title: `${p.label}: ${((100 * p.value) / total).toFixed(1)} %` },
  `${p.label} ${((100 * p.value) / total).toFixed(0)}%`)));
}

// Errors by HTTP status, as "422 ×3, 400 ×1" (the codes of one class: "4" or "5").
function statuses(errors, kind) {
  const parts = Object.entries(errors || {}).filter(([code]) => code.startsWith(kind));
  return parts.length ? parts.map(([code, n]) => `${code} ×${num(n)}`).join(", ") : "none";
}

export async function endpointPage(name, query) {
  loadPlotly().catch(() => {});  // fetch the chart library while the API answers
  const since = periodOf(query);
  const base = `/api/endpoints/${enc(name)}`;
  const [status, monitor, rollout, abtest, policies] = await Promise.all([
    api(base), api(`${base}/monitor?since=${since}`), optional(`${base}/rollout`),
    optional(`${base}/abtest`), optional(`${base}/policies`),
  ]);
  const versions = monitor.versions;
  const requests = versions.reduce((s, v) => s + v.requests, 0);
  const seconds = (new Date(monitor.until) - new Date(monitor.since)) / 1000;
  const top = versions[0];
  const perVersion = versions.map((v) => [
    v.version, num(v.requests), pct(requests ? v.requests / requests : null),
    num(v.requests / (seconds / 60), 3), ms(v.latency_ms.p50), ms(v.latency_ms.p95),
    ms(v.latency_ms.p99), pct(v.client_error_rate), pct(v.error_rate), pct(v.drift_share),
    v.top_drifted.length ? v.top_drifted.slice(0, 3).join(", ") : "—",
    qualityText(v.quality), pct(v.feedback.coverage),
  ]);
  return [
    h("p", {}, link("#/endpoints", "← Endpoints")),
    h("h1", {}, name),
    h("div", { class: "row" }, periodPicker(`/endpoints/${enc(name)}`, since),
      link(`#/endpoints/${enc(name)}/drift?since=${since}`, "Drift by feature →"),
      link(`#/audit?target=${enc(`endpoint:${name}`)}`, "Audit log →")),
    h("h2", {}, "Traffic split"),
    h("p", { class: "sub" }, `Configured routes: ${routesText(status.routes)} · serving ${status.serving || "—"}`),
    h("p", { class: "muted" }, "Requests answered per version in this period:"),
    splitBar(versions.map((v) => ({ label: v.version, value: v.requests }))),
    h("div", { class: "cards" },
      card("Requests", num(requests),
        `${num(versions.reduce((s, v) => s + v.rows, 0))} rows · ${num(requests / (seconds / 60), 3)} per minute over ${since}`),
      card("p50 / p95 / p99", top ? `${num(top.latency_ms.p50)} / ${num(top.latency_ms.p95)} / ${num(top.latency_ms.p99)}` : "—", top ? `ms, ${top.version}` : null),
      card("Refused (4xx)", top ? pct(top.client_error_rate) : "—",
        top ? `${top.version}: ${statuses(top.errors, "4")} · the caller's input broke a rule` : null),
      card("Server errors (5xx)", top ? pct(top.error_rate) : "—",
        top ? `${top.version}: ${statuses(top.errors, "5")}` : null),
      card("Drift share", top ? pct(top.drift_share) : "—", top && top.top_drifted.length ? `top: ${top.top_drifted.slice(0, 3).join(", ")}` : null),
      card("Quality", top ? qualityText(top.quality) : "—", top ? `feedback coverage ${pct(top.feedback.coverage)}` : null),
      top && top.estimated ? card("Estimated (no labels)", estimateText(top.estimated),
        `${top.estimated.method.toUpperCase()} on ${num(top.estimated.rows)} rows · trusted when only the inputs shifted, scores calibrated on the holdout, enough rows`) : null),
    h("h2", {}, "Per version"),
    table(null, ["Version", "Requests", "Share", "Per min", "p50", "p95", "p99", "Refused (4xx)",
      "Server errors (5xx)", "Drift share", "Top drifted", "Quality", "Feedback coverage"], perVersion,
    { numeric: [1, 2, 3, 4, 5, 6, 7, 8, 9, 12], empty: "No traffic in this period." }),
    endpointCharts(monitor),
    extraSections(versions),
    rolloutSection(name, rollout),
    abtestSection(abtest),
    policySection(policies),
  ];
}
