"""Callers for the demo: rows replayed from the test split with sticky user ids, and the
ground truth sent back a little later (labels arrive late in real life too)."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter, deque
from typing import Any

import httpx
import pandas as pd

LABEL_DELAY = 1.0  # seconds between a prediction and its feedback


class Traffic:
    def __init__(self, url: str, endpoint: str, rows: pd.DataFrame, labels: pd.Series) -> None:
        self.url, self.endpoint = url, endpoint
        self.rows = rows.to_dict(orient="records")
        self.labels = [int(v) for v in labels]
        self.shift = 1.0  # every feature multiplied by this: 1.0 is the training world
        self.served: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self._pending: deque[tuple[float, str, int]] = deque()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Traffic:
        for target in (self._send, self._label):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def _send(self) -> None:
        rng = random.Random(7)
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set():
                index = rng.randrange(len(self.rows))
                row: dict[str, Any] = {k: v * self.shift for k, v in self.rows[index].items()}
                row["user_id"] = f"user-{rng.randrange(500)}"
                try:
                    response = client.post(
                        f"/v1/endpoints/{self.endpoint}/predict", json={"instances": [row]}
                    )
                except httpx.HTTPError:
                    self.statuses[0] += 1
                    continue
                self.statuses[response.status_code] += 1
                if response.status_code == 200:
                    self.served[response.headers.get("x-modelyard-version", "?")] += 1
                    pid = response.json()["prediction_ids"][0]
                    self._pending.append((time.monotonic() + LABEL_DELAY, pid, self.labels[index]))
                time.sleep(0.01)

    def _label(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set():
                due = []
                while self._pending and self._pending[0][0] <= time.monotonic():
                    _, pid, label = self._pending.popleft()
                    due.append({"prediction_id": pid, "actual": label})
                if due:
                    with contextlib.suppress(httpx.HTTPError):
                        client.post(f"/v1/endpoints/{self.endpoint}/feedback", json=due)
                time.sleep(0.25)
