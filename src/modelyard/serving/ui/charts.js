// Charts: plotly.js from the plotly package, loaded on the pages that draw. A page returns
// placeholders from chart(); the router draws them once the page is in the document.

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

export function chart(title, describe, traces, layout = {}) {
  const el = h("div", { class: "chart", role: "img", "aria-label": `${title}: ${describe}` });
  pending.push([el, title, traces, layout]);
  return el;
}

export async function drawPending() {
  if (!pending.length) return;
  const work = pending.splice(0);
  let Plotly;
  try { Plotly = await loadPlotly(); } catch (e) {
    for (const [el] of work) el.replaceChildren(problemBox(e));
    return;
  }
  for (const [el, title, traces, layout] of work) {
    if (!el.isConnected) continue;
    await Plotly.newPlot(el, traces.map((t) => ({ ...t, name: plotText(t.name ?? "") })), {
      title: { text: plotText(title), font: { size: 14 } },
      margin: { l: 56, r: 12, t: 40, b: 40 },
      height: 280,
      legend: { orientation: "h", y: -0.2 },
      font: { family: "system-ui, sans-serif", color: "#1b1f24" },
      ...layout,
    }, { displaylogo: false, responsive: true });
  }
  document.body.dataset.charts = "drawn";
}
