// The endpoint page's charts over time, one line per version: requests per minute,
// latency percentiles, refused requests (4xx) and server errors (5xx), drift share, and
// quality (quality.js). Each breaks where a bucket has no window (timeline.js).

import { chart, COLORS } from "./charts.js";
import { h } from "./dom.js";
import { qualityChart } from "./quality.js";
import { periodAxis, timeTrace } from "./timeline.js";

const GAPS = "A break in a line: no window was recorded then (no traffic, or no server recording).";

function note(...lines) {
  return h("div", { class: "chart-note" }, lines.filter(Boolean).map((line) => h("p", {}, line)));
}

function color(i) { return COLORS[i % COLORS.length]; }

function requestsChart(monitor, versions) {
  const rate = (p, v) => (p.requests === undefined ? null : p.requests / ((v.timeline_seconds || 60) / 60));
  return chart("Requests per minute", "requests per minute per version over the period",
    versions.map((v, i) => timeTrace(v, rate, { name: v.version, line: { color: color(i), width: 2 } })),
    { xaxis: periodAxis(monitor), yaxis: { rangemode: "tozero" } },
    note("Requests answered per minute, per version, times in UTC.", GAPS));
}

function latencyChart(monitor, versions) {
  return chart("Latency (ms): p50, p95, p99", "latency percentiles per version over the period",
    versions.flatMap((v, i) => ["p50", "p95", "p99"].map((q, j) => timeTrace(v, (p) => p.latency_ms?.[q],
      { name: `${v.version} ${q}`, line: { color: color(i), dash: ["dot", "solid", "dash"][j], width: 2 } }))),
    { xaxis: periodAxis(monitor), yaxis: { rangemode: "tozero" } },
    note("Dotted p50, solid p95, dashed p99 of the answered requests.", GAPS));
}

// Refused requests (4xx: the caller's input broke a rule) apart from server errors (5xx:
// the version failed): a page showing only the second says "0 %" while callers are refused.
function errorsChart(monitor, versions) {
  const highest = Math.max(0.01, ...versions.flatMap((v) => (v.timeline || [])
    .flatMap((p) => [p.error_rate ?? 0, p.client_error_rate ?? 0])));
  return chart("Refused (4xx) and server errors (5xx)",
    "share of requests refused with a 4xx and answered with a 5xx, per version",
    versions.flatMap((v, i) => [
      timeTrace(v, (p) => p.client_error_rate, { name: `${v.version} refused (4xx)`, line: { color: color(i), dash: "dash", width: 2 } }),
      timeTrace(v, (p) => p.error_rate, { name: `${v.version} server errors (5xx)`, line: { color: color(i), width: 2 } }),
    ]),
    { xaxis: periodAxis(monitor), yaxis: { tickformat: ".1%", range: [0, highest * 1.15] } },
    note("Shares of the requests that reached each version: dashed refused (4xx), solid server errors (5xx).", GAPS));
}

function driftChart(monitor, versions) {
  return chart("Drift share", "share of features drifting per version",
    versions.map((v, i) => timeTrace(v, (p) => p.drift_share, { name: v.version, line: { color: color(i), width: 2 } })),
    { xaxis: periodAxis(monitor), yaxis: { tickformat: ".0%", range: [0, 1] } },
    note("Share of the features whose drift test fails in each bucket.", GAPS));
}

export function endpointCharts(monitor) {
  const versions = monitor.versions;
  if (!versions.length) return h("p", { class: "muted" }, "No traffic in this period.");
  return h("div", { class: "charts" },
    requestsChart(monitor, versions),
    latencyChart(monitor, versions),
    errorsChart(monitor, versions),
    driftChart(monitor, versions),
    qualityChart(monitor, versions));
}
