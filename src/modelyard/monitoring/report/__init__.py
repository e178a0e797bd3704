"""A monitor summary (a typed ``MonitorSummary``, read by attribute) as one self-contained
HTML page, or as its ``to_json()`` for machines.

The page carries plotly.js inline once (no CDN, works offline) and every chart's figure as
JSON in a ``<script type="application/json">`` block; a few lines of script draw the
visible charts on load and the collapsed ones when their ``<details>`` opens, so a model
with hundreds of features still opens quickly. Tables are plain HTML and read without
JavaScript.

Everything that comes from the data (endpoint, versions, feature names, categories, class
labels, status codes) is HTML-escaped before it reaches the page; text that plotly draws
is escaped too (plotly reads a subset of HTML in labels and decodes ``&lt;`` back to
``<``), and figure JSON has every ``<`` written as ``\\u003c``, so no value can close the
``<script>`` it sits in.

``page`` lays out the page and its tables, ``charts`` turns histograms and timelines into
plotly figures, ``embed`` puts figures and plotly.js in the page, ``values`` names, orders
and escapes the summary's values; numbers are formatted by ``modelyard.formatting``, as on
the command line.
"""

from modelyard.monitoring.report.charts import EXPANDED_HISTOGRAMS
from modelyard.monitoring.report.page import render_html, render_json

__all__ = ["EXPANDED_HISTOGRAMS", "render_html", "render_json"]
