"""Save the bench's pickled model as an MLflow model folder (run in MLflow's virtualenv).

    python mlflow_save.py MODEL.joblib OUT_DIR [TRUSTED_TYPE ...]

``mlflow.sklearn.save_model`` with its defaults (skops serialisation) and a signature
inferred from the breast-cancer frame; the types skops does not trust by default are passed
as ``skops_trusted_types``, as MLflow's own error message asks.
"""

import sys

import joblib
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.datasets import load_breast_cancer

model_file, out_dir, *trusted = sys.argv[1:]
model = joblib.load(model_file)
frame, _ = load_breast_cancer(return_X_y=True, as_frame=True)
signature = infer_signature(frame, model.predict(frame))
mlflow.sklearn.save_model(model, out_dir, signature=signature, skops_trusted_types=trusted or None)
print("saved", out_dir)
