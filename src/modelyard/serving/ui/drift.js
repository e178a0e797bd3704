// An endpoint's drift page: every feature's test against the reference profile, and one
// feature's histogram (reference vs current) and test value over time.

import { api } from "./api.js";
import { chart, COLORS, loadPlotly, plotText } from "./charts.js";
import { h, link, table } from "./dom.js";
import { enc, num, pct } from "./format.js";
import { periodOf, periodPicker } from "./period.js";
import { go } from "./router.js";
import { periodAxis, timeTrace, utc } from "./timeline.js";

export async function driftPage(name, query) {
  loadPlotly().catch(() => {});  // fetch the chart library while the API answers
  const since = periodOf(query);
  const monitor = await api(`/api/endpoints/${enc(name)}/monitor?since=${since}&histograms=true`);
  const versions = monitor.versions.filter((v) => v.drift);
  const header = [
    h("p", {}, link(`#/endpoints/${enc(name)}?since=${since}`, `← ${name}`)),
    h("h1", {}, `Drift on ${name}`),
  ];
  if (!versions.length) {
    return [...header, h("div", { class: "row" }, periodPicker(`/endpoints/${enc(name)}/drift`, since)),
      h("p", { class: "muted" }, "No traffic with a reference profile in this period.")];
  }
  const version = versions.find((v) => v.version === query.get("version")) || versions[0];
  const features = version.drift.features;
  const feature = features.find((f) => f.feature === query.get("feature"))
    || features.find((f) => f.verdict === "drift") || features[0];
  const extra = { version: version.version, feature: feature.feature };
  const versionSelect = h("select", { id: "drift-version",
    onchange: () => go(`/endpoints/${enc(name)}/drift`, { since, version: versionSelect.value }) },
  versions.map((v) => h("option", { value: v.version, selected: v === version }, v.version)));
  const featureSelect = h("select", { id: "drift-feature",
    onchange: () => go(`/endpoints/${enc(name)}/drift`, { since, version: version.version, feature: featureSelect.value }) },
  features.map((f) => h("option", { value: f.feature, selected: f === feature }, f.feature)));
  const rows = features.map((f) => [
    h("a", { href: `#/endpoints/${enc(name)}/drift?${new URLSearchParams({ since, version: version.version, feature: f.feature })}` }, f.feature),
    f.kind, f.test, num(f.values[f.test], 4), num(f.threshold, 3),
    h("span", { class: f.verdict === "drift" ? "bad" : f.verdict === "ok" ? "ok" : "muted" }, f.verdict),
    num(f.current_rows),
  ]);
  const histogram = version.histograms?.[feature.feature];
  return [
    ...header,
    h("div", { class: "row" }, periodPicker(`/endpoints/${enc(name)}/drift`, since, extra),
      h("label", { for: "drift-version" }, "Version", versionSelect),
      h("label", { for: "drift-feature" }, "Feature", featureSelect)),
    h("p", { class: "sub" }, `Drift share ${pct(version.drift.drift_share)} (alarm at ${pct(version.drift.drift_share_threshold)}) · verdict ${version.drift.verdict}`),
    h("div", { class: "charts" },
      histogram ? histogramChart(feature.feature, histogram) : h("p", { class: "muted" }, "No histogram for this feature."),
      driftOverTime(monitor, version, feature)),
    table(`Every feature of ${version.version}`, ["Feature", "Kind", "Test", "Value", "Threshold",
      "Verdict", "Rows"], rows, { numeric: [3, 4, 6] }),
  ];
}

function driftOverTime(monitor, version, feature) {
  // Text drifts in its lengths, judged with the numeric test.
  const tests = version.timeline_drift_tests;
  const { test, threshold } = tests[feature.kind] ?? tests.numeric;
  return chart(`${test} of ${feature.feature} over time`,
    `the ${test} value per time bucket, with the threshold ${threshold}`,
    [
      timeTrace(version, (p) => p.drift_scores?.[feature.feature], { name: test, line: { color: COLORS[0] } }),
      { type: "scatter", mode: "lines", name: `threshold ${threshold}`, x: [utc(monitor.since), utc(monitor.until)],
        y: [threshold, threshold], line: { color: COLORS[4], dash: "dash" } },
    ], { xaxis: periodAxis(monitor), yaxis: { rangemode: "tozero" } },
    h("div", { class: "chart-note" }, h("p", {}, `The ${test} of ${feature.feature} in each bucket against its threshold (dashed); times in UTC.`),
      h("p", {}, "A break in the line: no window was recorded then.")));
}

function histogramChart(feature, hist) {
  const share = (counts) => {
    const total = counts.reduce((s, c) => s + c, 0) || 1;
    return counts.map((c) => c / total);
  };
  if (hist.type === "numeric") {  // steps over the bins on a numeric axis
    // The reference's bins hold equal shares of its rows (unequal widths): plot density.
    const widths = hist.edges.slice(0, -1).map((e, i) => hist.edges[i + 1] - e);
    const density = (counts) => {
      const d = share(counts).map((p, i) => p / (widths[i] || 1));
      return [...d, d.at(-1)];
    };
    return chart(`${feature}: reference vs current`, "density of rows per bin, reference and current",
      [
        { type: "scatter", mode: "lines", name: "reference", x: hist.edges, y: density(hist.reference),
          line: { shape: "hv", color: "#6b7a8c", width: 1 }, fill: "tozeroy", fillcolor: "rgba(107,122,140,0.3)" },
        { type: "scatter", mode: "lines", name: "current", x: hist.edges, y: density(hist.current),
          line: { shape: "hv", color: COLORS[0], width: 2 } },
      ], { yaxis: { title: { text: "density" }, rangemode: "tozero" } },
      h("div", { class: "chart-note" }, h("p", {}, `Rows per unit of ${feature} in each of the reference's quantile bins (unequal widths): grey the reference, blue the period.`),
        h("p", {}, `Outside the reference's range: ${num(hist.below)} below, ${num(hist.above)} above; missing: ${num(hist.missing)}.`)));
  }
  const labels = hist.categories.map(plotText);
  return chart(`${feature}: reference vs current`, "share of rows per category, reference and current",
    [
      { type: "bar", name: "reference", x: labels, y: share(hist.reference), marker: { color: "#8a99ab" } },
      { type: "bar", name: "current", x: labels, y: share(hist.current), marker: { color: COLORS[0] } },
    ], { barmode: "group", yaxis: { tickformat: ".0%" } },
    h("div", { class: "chart-note" }, h("p", {}, `Share of rows per category of ${feature}: grey the reference, blue the period.`),
      h("p", {}, `Categories never seen in training: ${num(hist.unseen)} rows; missing: ${num(hist.missing)}.`)));
}
