"""Embedding modelyard in your own FastAPI app: load once at start-up, predict in-process.

    MODELYARD_HOME=.modelyard-demo uvicorn examples.fastapi_app:app

The model comes from the registry by alias and is hash-verified before it is used; the app
never talks to a modelyard server. Move the alias and restart (or call /reload) to pick up
another version.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

import modelyard

MODEL = os.environ.get("MODEL_REF", "churn@production")
state: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state["model"] = modelyard.load(MODEL)
    yield
    state.clear()


app = FastAPI(title="churn scoring", lifespan=lifespan)


class Rows(BaseModel):
    instances: list[dict[str, float]]


@app.post("/predict")
def predict(rows: Rows) -> dict[str, Any]:
    model = state["model"]
    try:
        predictions = model.predict(rows.instances)  # checked against the signature
    except modelyard.SchemaMismatch as exc:  # a feature missing, of the wrong type …
        raise HTTPException(422, str(exc)) from None
    return {"model": model.ref, "predictions": [int(p) for p in predictions]}


@app.post("/reload")
def reload() -> dict[str, str]:
    state["model"] = modelyard.load(MODEL)
    return {"model": state["model"].ref}
