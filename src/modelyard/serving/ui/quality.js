// Quality over time: the realized metric from feedback, and, for a version registered with
// a labelled holdout, the metric estimated without labels (CBPE for classifiers, DLE for
// regressors) with its interval as a band and what the estimate assumes beside the chart.

import { chart, COLORS } from "./charts.js";
import { h } from "./dom.js";
import { num } from "./format.js";
import { periodAxis, slots } from "./timeline.js";

const REALIZED = ["accuracy", "f1", "roc_auc", "mae", "rmse", "r2"];
const SCORES = new Set(["accuracy", "precision", "recall", "f1", "roc_auc"]);

export function headline(e) { return e.method === "dle" ? "mae" : "accuracy"; }

export function qualityText(q) {
  if (!q || !q.labeled) return "—";
  for (const key of REALIZED) {
    if (q[key] !== undefined && q[key] !== null) return `${key} ${num(q[key], 4)}`;
  }
  return `${q.labeled} labelled`;
}

export function estimateText(e) {
  if (!e) return "—";
  const key = headline(e), m = e.metrics[key];
  if (!m || m.value === null) return "—";
  const range = m.low !== null ? ` [${num(m.low, 3)}–${num(m.high, 3)}]` : "";
  return `${key} ${num(m.value, 3)}${range}`;
}

// The metric drawn: the estimated headline when a version has an estimate, else the first
// metric feedback measured.
function metricOf(versions) {
  const estimated = versions.find((v) => v.estimated);
  if (estimated) return headline(estimated.estimated);
  return REALIZED.find((key) => versions.some((v) => v.quality?.[key] !== undefined && v.quality?.[key] !== null)) ?? null;
}

// A bucket's interval as the server computed it at that bucket's own rows (the period's
// rule), or null: none sent, or too few rows for it to say anything (below MIN_BAND_ROWS its
// width, which grows as 1/√rows, would swamp the axis).
export const MIN_BAND_ROWS = 30;

function bounds(point, key) {
  const b = point?.estimated_interval?.[key];
  if (!Array.isArray(b) || b[0] === null || b[1] === null) return null;
  return (point.estimated_rows ?? 0) >= MIN_BAND_ROWS ? b : null;
}

// One closed shape per run of points with an estimate: upper edge forward, lower back.
function band(all, limits, name, fillcolor) {
  const x = [], y = [];
  let run = [];
  const close = () => {
    if (run.length) {
      x.push(...run.map((i) => all[i].at), ...run.slice().reverse().map((i) => all[i].at), null);
      y.push(...run.map((i) => limits[i][1]), ...run.slice().reverse().map((i) => limits[i][0]), null);
    }
    run = [];
  };
  all.forEach((_, i) => (limits[i] === null ? close() : run.push(i)));
  close();
  return { type: "scatter", mode: "lines", fill: "toself", fillcolor, line: { width: 0 },
    hoverinfo: "skip", name, x, y };
}

function tint(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgba(${r},${g},${b},0.18)`;
}

function traces(versions, key) {
  return versions.flatMap((v, i) => {
    const color = COLORS[i % COLORS.length], all = slots(v), out = [];
    const metric = v.estimated?.metrics?.[key];
    if (metric) {
      const values = all.map((s) => s.point?.estimated?.[key] ?? null);
      const limits = all.map((s) => (s.point?.estimated?.[key] == null ? null : bounds(s.point, key)));
      out.push(band(all, limits, `${v.version} 95 % interval`, tint(color)),
        { type: "scatter", mode: "lines+markers", connectgaps: false, name: `${v.version} estimated ${key}`,
          x: all.map((s) => s.at), y: values, line: { color, width: 2 }, marker: { size: 4 } });
    }
    const realized = all.map((s) => s.point?.quality?.[key] ?? null);
    if (realized.some((value) => value !== null)) {
      out.push({ type: "scatter", mode: "lines+markers", connectgaps: false, name: `${v.version} realized ${key} (feedback)`,
        x: all.map((s) => s.at), y: realized, line: { color, dash: "dot", width: 2 }, marker: { size: 6, symbol: "diamond" } });
    }
    return out;
  });
}

// What the estimate assumes, said where it is read: the server's own list, whether the
// scores were calibrated, and how many rows the estimate stands on.
function assumptions(versions) {
  const with_ = versions.filter((v) => v.estimated);
  if (!with_.length) {
    return h("div", { class: "chart-note" },
      h("p", {}, "Realized quality from feedback: a point where labels arrived for that bucket's predictions."),
      h("p", {}, "No estimate: register the version with a labelled holdout (--holdout) to see its quality estimated before labels arrive."));
  }
  return h("div", { class: "chart-note", id: "estimate-assumptions" },
    h("h4", {}, "What the estimate assumes"),
    h("ul", {}, with_[0].estimated.assumptions.map((a) => h("li", {}, a))),
    with_.map((v) => h("p", {}, `${v.version}: ${v.estimated.method.toUpperCase()} on ${num(v.estimated.rows)} rows; `,
      v.estimated.method === "dle" ? "a nanny model trained on the holdout's errors."
        : v.estimated.calibrated ? "scores calibrated (isotonic) on the holdout." : "raw scores (calibrating did not lower the holdout's error).")),
    h("p", {}, `Enough rows: the band is the 95 % interval the server computed at each point's own rows; it widens as rows fall, and is left out below ${MIN_BAND_ROWS} rows, where an estimate says little.`),
    h("p", {}, "Solid: estimated; dotted: realized from feedback, once labels arrive. A break: no window then."));
}

export function qualityChart(monitor, versions) {
  const key = metricOf(versions);
  if (key === null) return null;
  const drawn = traces(versions, key);
  if (!drawn.length) return null;
  return chart(`Quality over time: ${key}, estimated and realized`,
    `${key} estimated without labels with its interval, and realized from feedback, per version`,
    drawn, { xaxis: periodAxis(monitor), yaxis: SCORES.has(key) ? {} : { rangemode: "tozero" } },
    assumptions(versions));
}
