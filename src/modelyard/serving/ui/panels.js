// Sections drawn from optional keys of a version in the monitor summary, only when the
// server sends them (docs/console.md, "Extra sections", gives the shapes): per-feature data
// quality, segments worst first, per-class quality. Segments get a table of their own (one
// row per segment, its quality beside its drift); the other sections' JSON becomes tables
// by shape, so a new field shows without a change here; the order of a list is kept as sent.

import { h, table } from "./dom.js";
import { num, pct } from "./format.js";

export const SECTIONS = [
  ["data_quality", "Data quality"],
  ["segments", "Segments"],
  ["per_class", "Per class"],
];
// A share by its key, or by its parent's (refused_shares: {rule: 0.13}).
const SHARE = /(^|_)(shares?|rate|coverage)$/;
const DEPTH = 3;

function scalar(value) { return value === null || typeof value !== "object"; }
function flat(value) { return value !== null && typeof value === "object" && !Array.isArray(value) && Object.values(value).every(scalar); }

function cell(key, value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return SHARE.test(key) ? pct(value) : num(value, 4);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function rowsTable(caption, first, entries, parent = "") {  // entries: [[name | null, flat object]]
  const columns = [...new Set(entries.flatMap(([, row]) => Object.keys(row)))];
  const headers = (first ? [first, ...columns] : columns).map((c) => c.replace(/_/g, " "));
  const offset = first ? 1 : 0;
  const numeric = columns.map((c, i) => (entries.some(([, row]) => typeof row[c] === "number") ? i + offset : null))
    .filter((i) => i !== null);
  const rows = entries.map(([name, row]) => [...(first ? [name] : []), ...columns.map((c) => cell(SHARE.test(parent) ? parent : c, row[c]))]);
  return table(caption, headers, rows, { numeric });
}

// A value as tables: a list of flat objects (a row each), an object of flat objects (a row
// per key), a flat object (name and value), a matrix (rows of numbers); deeper objects
// give one table per key.
export function tables(caption, value, depth = 0, labels = null, key = "") {
  const share = (k) => (SHARE.test(key) ? key : k);
  if (scalar(value)) return h("p", {}, `${caption}: ${cell(key || caption, value)}`);
  if (Array.isArray(value)) {
    if (value.every(flat)) return rowsTable(caption, null, value.map((row) => [null, row]), key);
    if (value.every((row) => Array.isArray(row) && row.every(scalar))) {
      const width = Math.max(0, ...value.map((row) => row.length));
      const name = (i) => (labels && labels[i] !== undefined ? String(labels[i]) : String(i));
      return table(caption, ["", ...Array.from({ length: width }, (_, i) => name(i))],
        value.map((row, i) => [name(i), ...row.map((c) => cell("", c))]));
    }
  } else if (flat(value)) {
    return table(caption, ["name", "value"], Object.entries(value).map(([k, v]) => [k, cell(share(k), v)]), { numeric: [1] });
  } else if (Object.values(value).every(flat) && Object.keys(value).length) {
    return rowsTable(caption, "name", Object.entries(value), key);
  }
  if (depth >= DEPTH) return h("pre", {}, JSON.stringify(value, null, 1));
  const parts = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  // A matrix beside a "labels" list (a confusion matrix) names its rows and columns by them.
  const names = !Array.isArray(value) && Array.isArray(value.labels) ? value.labels : null;
  return h("div", { class: "panel" }, parts.filter(([k]) => !(names && k === "labels"))
    .map(([k, v]) => tables(`${caption}: ${k}`, v, depth + 1, names, k)));
}

// -- segments: one row each, worst first as sent -----------------------------------------

const HEADLINE = { classification: "accuracy", regression: "mae", cbpe: "accuracy", dle: "mae" };

// The metric segments are judged by: what ranked them, else the kind their quality or
// estimate says (accuracy for classifiers, MAE for regressors).
function segmentMetric(segments) {
  for (const s of segments) {
    if (s.ranked_by?.metric) return s.ranked_by.metric.replace(/^estimated_/, "");
  }
  for (const s of segments) {
    const named = HEADLINE[s.quality?.kind] ?? HEADLINE[s.estimated?.method];
    if (named) return named;
  }
  return "accuracy";
}

function segmentValue(s) {
  if (!Array.isArray(s.bounds)) return String(s.value);
  const [low, high] = s.bounds;
  return `${s.value} [${low === null ? "−∞" : num(low)}, ${high === null ? "∞" : num(high)})`;
}

function realizedText(quality, metric) {
  const value = quality?.[metric];
  if (value === undefined || value === null) return quality?.labeled ? `${num(quality.labeled)} labelled` : "—";
  return `${num(value, 4)} (${num(quality.labeled)} labelled)`;
}

function estimateCell(estimated, metric) {
  const m = estimated?.metrics?.[metric];
  if (!m || m.value === null || m.value === undefined) return "—";
  return m.low !== null && m.high !== null ? `${num(m.value, 3)} [${num(m.low, 3)}–${num(m.high, 3)}]` : num(m.value, 3);
}

// The first few drifted features, and how many more (a segment may drift in all 30).
const DRIFTED_SHOWN = 5;
function drifted(names) {
  if (!names.length) return "—";
  const more = names.length - DRIFTED_SHOWN;
  return names.slice(0, DRIFTED_SHOWN).join(", ") + (more > 0 ? ` and ${more} more` : "");
}

export function segmentsTable(version) {
  const segments = version.segments, metric = segmentMetric(segments);
  return table(`Segments of ${version.version}, worst ${metric} first`,
    ["feature", "value", "rows", "requests", "share", `realized ${metric}`, `estimated ${metric}`,
      "drift share", "drifted features"],
    segments.map((s) => [s.feature, segmentValue(s), num(s.rows), num(s.requests), pct(s.share),
      realizedText(s.quality, metric), estimateCell(s.estimated, metric), pct(s.drift_share),
      drifted(s.drifted_features || [])]),
    { numeric: [2, 3, 4, 5, 6, 7], class: "segments" });
}

export function extraSections(versions) {
  return SECTIONS.flatMap(([key, title]) => {
    const having = versions.filter((v) => v[key] !== undefined && v[key] !== null);
    if (!having.length) return [];
    return [h("h2", { id: `section-${key.replace(/_/g, "-")}` }, title),
      ...having.map((v) => (key === "segments" && Array.isArray(v[key]) ? segmentsTable(v)
        : tables(`${title} of ${v.version}`, v[key])))];
  });
}
