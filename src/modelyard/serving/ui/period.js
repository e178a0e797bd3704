// The period the monitoring pages look back over (?since=1h), and its picker.

import { h } from "./dom.js";
import { go } from "./router.js";

const PERIODS = ["15m", "1h", "6h", "24h", "7d"];

export function periodOf(query) {
  return PERIODS.includes(query.get("since")) ? query.get("since") : "1h";
}

export function periodPicker(path, since, extra = {}) {
  const select = h("select", { id: "period", onchange: () => go(path, { ...extra, since: select.value }) },
    PERIODS.map((p) => h("option", { value: p, selected: p === since }, `last ${p}`)));
  return h("label", { for: "period" }, "Period", select);
}
