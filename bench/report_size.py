"""How big is the HTML file ``modelyard monitor report`` writes? A size, not a speed.

    .venv/bin/python bench/report_size.py

Two real reports, each from a fresh yard in a temporary folder, written by the real command
line (``modelyard monitor report ENDPOINT --out FILE``):

- ``small``: scikit-learn's bundled breast-cancer set (30 numeric features), a logistic
  regression registered with the whole set as its sample, 2 rows predicted through the
  server's recorder: 5 timeline charts and 30 histograms.
- ``wide``: 200 numeric features made here with numpy's default_rng and a fixed seed, a
  logistic regression, 5,000 rows predicted (a tenth of the features shifted): 5 timeline
  charts and 200 histograms, 188 of them in a collapsed section.

For each it prints the file size, how much of it is plotly.js and how many copies of the
bundle the file holds (a ``plotly.js`` version banner counts one).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from modelyard import Yard
from modelyard.domain.signature import Signature
from modelyard.monitoring.recorder import Recorder
from modelyard.runtime.events import PredictionEvent
from modelyard.runtime.inputs import from_frame
from modelyard.runtime.runner import Output

BANNER = re.compile(r"\* plotly\.js (?:\([^)]*\) )?v\d+\.\d+\.\d+")
SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _report(home: Path, X: pd.DataFrame, y: pd.Series, current: pd.DataFrame) -> Path:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    with Yard(home, actor="bench") as yard:
        yard.register(model, "m", sample=X)
        yard.create_endpoint("m-api", "m@1")
        signature = Signature.from_dict(yard.get_version("m@1").signature)
        stamp = time.time()
        recorder = Recorder(yard, clock=lambda: stamp)
        recorder.predicted(
            PredictionEvent(
                "m-api",
                "m@1",
                from_frame(signature, current),
                Output(model.predict(current), model.predict_proba(current)),
                [uuid.uuid4().hex for _ in range(len(current))],
                latency_ms=5.0,
                at=stamp,
                log_inputs=0.0,
            )
        )
        recorder.flush()
    out = home / "report.html"
    modelyard = Path(sys.executable).with_name("modelyard")
    command = [str(modelyard), "--home", str(home), "monitor", "report", "m-api"]
    subprocess.run([*command, "--out", str(out)], check=True, capture_output=True)
    return out


def _small(home: Path) -> Path:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return _report(home, X, y, X.iloc[:2])


def _wide(home: Path) -> Path:
    rng = np.random.default_rng(13)
    X = pd.DataFrame(rng.normal(size=(5000, 200)), columns=[f"f{i:03d}" for i in range(200)])
    y = pd.Series((X["f000"] + X["f001"] > 0).astype(int))
    current = pd.DataFrame(rng.normal(size=(5000, 200)), columns=X.columns)
    current.iloc[:, ::10] += 1.0
    return _report(home, X, y, current)


def main() -> None:
    print(f"{'report':<8} {'file':>10} {'plotly.js':>10} {'copies':>6} {'charts':>6}")
    for name, build in (("small", _small), ("wide", _wide)):
        with tempfile.TemporaryDirectory() as folder:
            text = build(Path(folder)).read_text(encoding="utf-8")
        size = len(text.encode())
        plotly = sum(len(s.encode()) for s in SCRIPT.findall(text) if BANNER.search(s))
        copies = len(BANNER.findall(text))
        charts = text.count('class="plot"')
        print(f"{name:<8} {size / 1e6:>8.2f}MB {plotly / 1e6:>8.2f}MB {copies:>6} {charts:>6}")


if __name__ == "__main__":
    main()
