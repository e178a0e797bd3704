// Sections drawn from optional keys of a version in the monitor summary, only when the
// server sends them (docs/console.md, "Extra sections", gives the shapes): per-feature data
// quality, segments worst first, per-class quality. Any JSON of these shapes becomes tables,
// so a new field shows without a change here; the order of a list is kept as sent.

import { h, table } from "./dom.js";
import { num, pct } from "./format.js";

export const SECTIONS = [
  ["data_quality", "Data quality"],
  ["segments", "Segments"],
  ["per_class", "Per class"],
];
const SHARE = /(^|_)(share|rate|coverage)$/;
const DEPTH = 3;

function scalar(value) { return value === null || typeof value !== "object"; }
function flat(value) { return value !== null && typeof value === "object" && !Array.isArray(value) && Object.values(value).every(scalar); }

function cell(key, value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return SHARE.test(key) ? pct(value) : num(value, 4);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function rowsTable(caption, first, entries) {  // entries: [[name | null, flat object]]
  const columns = [...new Set(entries.flatMap(([, row]) => Object.keys(row)))];
  const headers = (first ? [first, ...columns] : columns).map((c) => c.replace(/_/g, " "));
  const offset = first ? 1 : 0;
  const numeric = columns.map((c, i) => (entries.some(([, row]) => typeof row[c] === "number") ? i + offset : null))
    .filter((i) => i !== null);
  const rows = entries.map(([name, row]) => [...(first ? [name] : []), ...columns.map((c) => cell(c, row[c]))]);
  return table(caption, headers, rows, { numeric });
}

// A value as tables: a list of flat objects (a row each), an object of flat objects (a row
// per key), a flat object (name and value), a matrix (rows of numbers); deeper objects
// give one table per key.
export function tables(caption, value, depth = 0, labels = null) {
  if (scalar(value)) return h("p", {}, `${caption}: ${cell(caption, value)}`);
  if (Array.isArray(value)) {
    if (value.every(flat)) return rowsTable(caption, null, value.map((row) => [null, row]));
    if (value.every((row) => Array.isArray(row) && row.every(scalar))) {
      const width = Math.max(0, ...value.map((row) => row.length));
      const name = (i) => (labels && labels[i] !== undefined ? String(labels[i]) : String(i));
      return table(caption, ["", ...Array.from({ length: width }, (_, i) => name(i))],
        value.map((row, i) => [name(i), ...row.map((c) => cell("", c))]));
    }
  } else if (flat(value)) {
    return table(caption, ["name", "value"], Object.entries(value).map(([k, v]) => [k, cell(k, v)]), { numeric: [1] });
  } else if (Object.values(value).every(flat) && Object.keys(value).length) {
    return rowsTable(caption, "name", Object.entries(value));
  }
  if (depth >= DEPTH) return h("pre", {}, JSON.stringify(value, null, 1));
  const parts = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  // A matrix beside a "labels" list (a confusion matrix) names its rows and columns by them.
  const names = !Array.isArray(value) && Array.isArray(value.labels) ? value.labels : null;
  return h("div", { class: "panel" }, parts.filter(([k]) => !(names && k === "labels"))
    .map(([k, v]) => tables(`${caption}: ${k}`, v, depth + 1, names)));
}

export function extraSections(versions) {
  return SECTIONS.flatMap(([key, title]) => {
    const having = versions.filter((v) => v[key] !== undefined && v[key] !== null);
    if (!having.length) return [];
    return [h("h2", { id: `section-${key.replace(/_/g, "-")}` }, title),
      ...having.map((v) => tables(`${title} of ${v.version}`, v[key]))];
  });
}
