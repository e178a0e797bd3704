"""The bench's model behind NVIDIA Triton through PyTriton (run in bench/.venvs/pytriton).

    python pytriton_app.py hgb|logreg HTTP_PORT GRPC_PORT METRICS_PORT PROBA.npy WORKSPACE

PyTriton 0.7.0 needs numpy<2, so the model cannot be unpickled from the project's
environment: it is refitted here, with the same scikit-learn version, on the same bundled
breast-cancer data, and its probabilities must equal those the orchestrator saved in
PROBA.npy before Triton starts (exit 3 otherwise). Triton speaks KServe v2 over HTTP (JSON
and binary tensors) and gRPC. PyTriton's documented batching: ``DynamicBatcher`` with a
5 ms queue delay, preferred batch 64. Triton's ``max_batch_size`` also bounds the rows of a
single request, so it is 128 (64 would refuse the 100-row body). Input ``input-0`` [N, 30]
FP64; output ``predict`` [N, 1] INT64.
"""

import sys

import numpy as np
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

kind, http_port, grpc_port, metrics_port, proba_file, workspace = sys.argv[1:7]
X, y = load_breast_cancer(return_X_y=True)
if kind == "hgb":
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0)
else:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
model.fit(X, y)
wanted = np.load(proba_file)
got = model.predict_proba(X)
if got.shape != wanted.shape or not np.array_equal(got, wanted):
    difference = float(np.max(np.abs(got - wanted))) if got.shape == wanted.shape else "shape"
    print(f"refitted model differs from the orchestrator's: max |diff| {difference}", flush=True)
    sys.exit(3)
print("refitted model: probabilities identical to the orchestrator's", flush=True)


@batch
def infer(**inputs):
    classes = model.predict(inputs["input-0"])
    return {"predict": classes.astype(np.int64).reshape(-1, 1)}


config = TritonConfig(
    http_address="127.0.0.1",
    http_port=int(http_port),
    grpc_address="127.0.0.1",
    grpc_port=int(grpc_port),
    metrics_port=int(metrics_port),
)
with Triton(config=config, workspace=workspace) as triton:
    triton.bind(
        model_name="bench",
        infer_func=infer,
        inputs=[Tensor(name="input-0", dtype=np.float64, shape=(30,))],
        outputs=[Tensor(name="predict", dtype=np.int64, shape=(1,))],
        config=ModelConfig(
            max_batch_size=128,
            batcher=DynamicBatcher(max_queue_delay_microseconds=5000, preferred_batch_size=[64]),
        ),
        strict=True,
    )
    triton.serve()
