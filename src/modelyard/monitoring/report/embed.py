"""Charts in the page: plotly.js once in the head, each figure as JSON beside its div.

The plotly.js is plotly's own basic partial bundle (bar, scatter, pie and every layout
component; ``assets/README.md`` says where it comes from), 1.2 MB against the 4.8 MB of
the full bundle the ``plotly`` package ships: the report draws only bars and lines.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import plotly.graph_objects as go
import plotly.io as pio

from modelyard.monitoring.report.values import esc


class Charts:
    """Numbers the charts of one page and turns each into a div and its figure JSON."""

    def __init__(self) -> None:
        self.count = 0

    def figure(self, figure: go.Figure | None, label: str) -> str:
        if figure is None:
            return ""
        self.count += 1
        ident = f"chart-{self.count}"
        spec = json_in_script(str(pio.to_json(figure, validate=False)))
        return (
            f'<div class="plot" id="{ident}" data-figure="{ident}-data" role="img" '
            f'aria-label="{esc(label)}"></div>'
            f'<script type="application/json" id="{ident}-data">{spec}</script>'
        )


def json_in_script(text: str) -> str:
    """JSON that cannot end its ``<script>`` element early (nor open a comment): plotly
    already writes ``<`` as ``\\u003c``; this keeps it so whatever plotly does. A ``<`` in
    JSON can only be inside a string, where the escape means the same."""
    return text.replace("<", "\\u003c")


BUNDLE = "plotly-basic.min.js"


@cache
def plotly_js() -> str:
    """The plotly.js bundle, checked to be safe to inline as it is."""
    code = (files("modelyard.monitoring.report") / "assets" / BUNDLE).read_text(encoding="utf-8")
    lowered = code.lower()
    if "</script" in lowered or "<!--" in lowered:  # not in any release so far
        raise RuntimeError("this plotly.js bundle cannot be inlined in a <script> element")
    return code


LOADER = """
(function () {
  if (typeof Plotly === "undefined") { return; }
  function draw(el) {
    if (el.getAttribute("data-drawn") || el.closest("details:not([open])")) { return; }
    el.setAttribute("data-drawn", "1");
    var spec = JSON.parse(document.getElementById(el.getAttribute("data-figure")).textContent);
    Plotly.newPlot(el, spec.data, spec.layout, {displaylogo: false, responsive: true});
  }
  function drawIn(root) { root.querySelectorAll(".plot").forEach(draw); }
  drawIn(document);
  document.querySelectorAll("details").forEach(function (d) {
    d.addEventListener("toggle", function () { if (d.open) { drawIn(d); } });
  });
})();
"""
