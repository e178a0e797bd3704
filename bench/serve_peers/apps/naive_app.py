"""The FastAPI app every tutorial shows: a pydantic body, a sync route, ``model.predict``.

    BENCH_MODEL=model.joblib uvicorn naive_app:app --port 8000

Deliberately left as written in tutorials (one uvicorn worker, default settings: sync
``def`` in FastAPI's thread pool, default access log, default native threads). It takes one
row per request: ``{"features": [30 floats]}`` -> ``{"prediction": 0 or 1}``.
"""

import os

import joblib
from fastapi import FastAPI
from pydantic import BaseModel

model = joblib.load(os.environ["BENCH_MODEL"])
app = FastAPI()


class Features(BaseModel):
    features: list[float]


@app.post("/predict")
def predict(body: Features) -> dict[str, int]:
    prediction = model.predict([body.features])
    return {"prediction": int(prediction[0])}
