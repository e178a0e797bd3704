"""The bench's model as a BentoML service (run in bench/.venvs/bentoml).

    BENCH_MODEL=model.joblib bentoml serve bentoml_service:Bench --port 3000

BentoML's documented adaptive batching: ``@bentoml.api(batchable=True, max_batch_size=64,
max_latency_ms=1000)`` on one worker; rows of concurrent requests are concatenated along
axis 0 and the answer split back. ``max_latency_ms`` is the age at which a queued request
is refused with 503, not a batching wait (a few ms would refuse most of the load), but it
also seeds the batching optimizer: at the default 60 s it starts from 2 s per row and waits
seconds for a second request while it trains, so 1 s is used, as in issue 20's table.
Request ``{"rows": [[30 floats], ...]}``; answer a JSON list of classes.
"""

import os

import bentoml
import joblib
import numpy as np


@bentoml.service(workers=1)
class Bench:
    def __init__(self) -> None:
        self.model = joblib.load(os.environ["BENCH_MODEL"])

    @bentoml.api(batchable=True, max_batch_size=64, max_latency_ms=1000)
    def predict(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(rows))
