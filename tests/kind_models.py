"""Real scikit-learn models over text and string categories, fitted on generated data:
a sentiment pipeline fitted on a list of sentences, and colour pipelines whose encoder
ignores (open) or refuses (closed) colours it was not fitted on."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

GOOD = ["great", "love", "excellent", "lovely", "happy", "superb", "enjoyed"]
BAD = ["bad", "awful", "hate", "poor", "sad", "broken", "terrible"]
FILLER = ["the", "delivery", "product", "service", "was", "really", "quite", "today"]
COLOURS = ["red", "green", "blue", "yellow"]
# Never in any training data: the models must still answer them (or refuse, when closed).
NEW_SENTENCES = ["I love this lovely thing", "what an awful broken mess", "quite superb really"]
NEW_COLOUR = "purple"


def sentences(rows: int = 240, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, rows)
    texts = [
        " ".join([*rng.choice(FILLER, 3), *rng.choice(GOOD if label else BAD, 2), f"#{i}"])
        for i, label in enumerate(labels)
    ]
    return texts, labels


def text_model() -> tuple[Pipeline, list[str]]:
    """``make_pipeline(TfidfVectorizer(), LogisticRegression())`` fitted on a list of strings."""
    texts, labels = sentences()
    return make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels), texts


def colours(rows: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"color": rng.choice(COLOURS, rows), "size": rng.normal(0, 1, rows)})
    labels = ((frame["color"] == "red") | (frame["size"] > 1)).astype(int).to_numpy()
    return frame, labels


def colour_model(handle_unknown: str) -> tuple[Pipeline, pd.DataFrame]:
    """One-hot colour plus a number; ``handle_unknown="ignore"`` predicts for any colour,
    ``"error"`` raises on one it was not fitted on."""
    frame, labels = colours()
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown=handle_unknown), ["color"]), remainder="passthrough"
    )
    return make_pipeline(encode, LogisticRegression()).fit(frame, labels), frame
