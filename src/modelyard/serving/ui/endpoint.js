// An endpoint's monitoring page: traffic split, latency, errors, drift and quality per
// version over a period, with charts, then its rollout, A/B test and policies.

import { api, optional } from "./api.js";
import { chart, COLORS, loadPlotly } from "./charts.js";
import { card, h, link, table } from "./dom.js";
import { enc, ms, num, pct, routesText } from "./format.js";
import { periodOf, periodPicker } from "./period.js";
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

function qualityText(q) {
  if (!q || !q.labeled) return "—";
  for (const key of ["accuracy", "f1", "roc_auc", "mae", "rmse", "r2"]) {
    if (q[key] !== undefined && q[key] !== null) return `${key} ${num(q[key], 4)}`;
  }
  return `${q.labeled} labelled`;
}

// Performance estimated without labels (a version registered with a holdout): the headline
// metric, its interval and, once labels arrive, the realized value beside it.
function headline(e) { return e.method === "dle" ? "mae" : "accuracy"; }

function estimateText(e) {
  if (!e) return "—";
  const key = headline(e), m = e.metrics[key];
  if (m.value === null) return "—";
  const range = m.low !== null ? ` [${num(m.low, 3)}–${num(m.high, 3)}]` : "";
  return `${key} ${num(m.value, 3)}${range}`;
}

function estimateChart(versions) {
  const with_ = versions.filter((v) => v.estimated);
  if (!with_.length) return null;
  const traces = with_.flatMap((v, i) => {
    const key = headline(v.estimated), x = v.timeline.map((p) => p.bucket_start);
    const color = COLORS[i % COLORS.length];
    return [
      { type: "scatter", mode: "lines+markers", name: `${v.version} estimated ${key}`, x,
        y: v.timeline.map((p) => p.estimated?.[key] ?? null), line: { color, width: 2 } },
      { type: "scatter", mode: "lines+markers", name: `${v.version} realized ${key}`, x,
        y: v.timeline.map((p) => p.quality?.[key] ?? null), line: { color, dash: "dot", width: 2 } },
    ];
  });
  return chart("Estimated (no labels) beside realized", "estimated and realized quality per version", traces);
}

function series(versions, pick, name) {
  return versions.map((v, i) => ({
    type: "scatter", mode: "lines+markers", name: name ? name(v) : v.version,
    x: (v.timeline || []).map((p) => p.bucket_start),
    y: (v.timeline || []).map((p) => pick(p, v)),
    line: { color: COLORS[i % COLORS.length], width: 2 }, marker: { size: 4 },
  }));
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
    ms(v.latency_ms.p99), pct(v.error_rate), pct(v.drift_share),
    v.top_drifted.length ? v.top_drifted.slice(0, 3).join(", ") : "—",
    qualityText(v.quality), pct(v.feedback.coverage),
  ]);
  const rate = (p, v) => (p.requests ?? 0) / ((v.timeline_seconds || 60) / 60);
  const charts = versions.length ? h("div", { class: "charts" },
    chart("Requests per minute", "requests per minute per version over the period",
      series(versions, rate), { yaxis: { rangemode: "tozero" } }),
    chart("Latency (ms): p50, p95, p99", "latency percentiles per version over the period",
      versions.flatMap((v, i) => ["p50", "p95", "p99"].map((q, j) => ({
        type: "scatter", mode: "lines", name: `${v.version} ${q}`,
        x: v.timeline.map((p) => p.bucket_start), y: v.timeline.map((p) => p.latency_ms?.[q] ?? null),
        line: { color: COLORS[i % COLORS.length], dash: ["dot", "solid", "dash"][j], width: 2 },
      }))), { yaxis: { rangemode: "tozero" } }),
    chart("Error rate (5xx)", "share of requests answered with a server error per version",
      series(versions, (p) => p.error_rate ?? null),
      { yaxis: { tickformat: ".1%", range: [0, Math.max(0.01, ...versions.flatMap((v) => v.timeline.map((p) => p.error_rate ?? 0))) * 1.15] } }),
    chart("Drift share", "share of features drifting per version",
      series(versions, (p) => p.drift_share ?? null), { yaxis: { tickformat: ".0%", range: [0, 1] } }),
    estimateChart(versions),
  ) : h("p", { class: "muted" }, "No traffic in this period.");
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
      card("Error rate", top ? pct(top.error_rate) : "—", top ? top.version : null),
      card("Drift share", top ? pct(top.drift_share) : "—", top && top.top_drifted.length ? `top: ${top.top_drifted.slice(0, 3).join(", ")}` : null),
      card("Quality", top ? qualityText(top.quality) : "—", top ? `feedback on ${pct(top.feedback.coverage)} of rows` : null),
      top && top.estimated ? card("Estimated (no labels)", estimateText(top.estimated),
        `${top.estimated.method.toUpperCase()} on ${num(top.estimated.rows)} rows · trusted when only the inputs shifted, scores calibrated on the holdout, enough rows`) : null),
    h("h2", {}, "Per version"),
    table(null, ["Version", "Requests", "Share", "Per min", "p50", "p95", "p99", "Errors",
      "Drift share", "Top drifted", "Quality", "Feedback"], perVersion,
    { numeric: [1, 2, 3, 4, 5, 6, 7, 8], empty: "No traffic in this period." }),
    charts,
    rolloutSection(name, rollout),
    abtestSection(abtest),
    policySection(policies),
  ];
}
