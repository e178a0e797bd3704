// Charts: plotly.js from the plotly package, loaded on the pages that draw. A page returns
// placeholders from chart(); the router draws them once the page is in the document.
// A chart takes two thirds of the page's width, its title is a heading above the plot (not
// plotly's, so nothing can cover it) and plotly's toolbar stays hidden (drag zooms, a
// double click resets); the last third holds what the chart needs said beside it.

import { h, main, problemBox } from "./dom.js";

export const COLORS = ["#0b4fb3", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207"];

let plotly = null;
const pending = [];

export function loadPlotly() {
  plotly ??= new Promise((resolve, reject) => {
    const script = h("script", { src: main.dataset.plotly });
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => reject(new Error("the chart library did not load"));
    document.head.append(script);
  });
  return plotly;
}

export function plotText(text) {  // plotly reads a little HTML in labels: give it text only
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function chart(title, describe, traces, layout = {}, aside = null) {
  const el = h("div", { class: "chart", role: "img", "aria-label": `${title}: ${describe}` });
  pending.push([el, traces, layout]);
  return h("section", { class: "chart-row" },
    h("div", { class: "chart-box" }, h("h3", {}, title), el),
    h("div", { class: "chart-aside" }, aside));
}

export async function drawPending() {
  if (!pending.length) return;
  const work = pending.splice(0);
  let Plotly;
  try { Plotly = await loadPlotly(); } catch (e) {
    for (const [el] of work) el.replaceChildren(problemBox(e));
    return;
  }
  for (const [el, traces, layout] of work) {
    if (!el.isConnected) continue;
    await Plotly.newPlot(el, traces.map((t) => ({ ...t, name: plotText(t.name ?? "") })), {
      margin: { l: 56, r: 12, t: 12, b: 40 },
      height: 280,
      legend: { orientation: "h", y: -0.2 },
      font: { family: "system-ui, sans-serif", color: "#1b1f24" },
      ...layout,
    }, { displayModeBar: false, responsive: true });
  }
  document.body.dataset.charts = "drawn";
}
