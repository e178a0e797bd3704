"""The bench's model as a LitServe server (run in bench/.venvs/litserve).

    BENCH_MODEL=model.joblib python litserve_app.py PORT

LitServe's documented batching: ``LitAPI(max_batch_size=64, batch_timeout=0.005)``, one
worker on the CPU. A batch is up to 64 requests (of any row count): their rows are predicted
in one call and split back per request. Request ``{"instances": [[30 floats], ...]}``;
answer ``{"predictions": [classes]}``.
"""

import os
import sys

import joblib
import litserve as ls
import numpy as np


class Bench(ls.LitAPI):
    def setup(self, device):
        self.model = joblib.load(os.environ["BENCH_MODEL"])

    def decode_request(self, request):
        return np.asarray(request["instances"], dtype=np.float64)

    def batch(self, inputs):
        return list(inputs)

    def predict(self, x):
        sizes = [len(rows) for rows in x]
        classes = self.model.predict(np.concatenate(x))
        return np.split(classes, np.cumsum(sizes)[:-1])

    def unbatch(self, output):
        return list(output)

    def encode_response(self, output):
        return {"predictions": output.tolist()}


if __name__ == "__main__":
    api = Bench(max_batch_size=64, batch_timeout=0.005)
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1)
    server.run(host="127.0.0.1", port=int(sys.argv[1]), generate_client_file=False)
