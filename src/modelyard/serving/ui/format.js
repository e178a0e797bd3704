// Numbers, times and names as the pages show them ("—" for a value that is not there).

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toISOString().slice(0, 19).replace("T", " ") + " UTC";
}

export function num(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  return Number(value.toPrecision(digits)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}

export function pct(value) {
  return value === null || value === undefined ? "—" : `${(100 * value).toFixed(value < 0.1 ? 2 : 1)} %`;
}

export function ms(value) { return value === null || value === undefined ? "—" : `${num(value)} ms`; }

export function enc(text) { return encodeURIComponent(text); }

export function routesText(routes) {
  return (routes || []).map((r) => `${r.model}${r.role && r.role !== "primary" ? ` (${r.role})` : ""} ${r.weight ?? ""}%`.trim()).join(", ") || "—";
}
