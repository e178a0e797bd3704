"""Adding a data file as a dataset version: hash, schema, profile, then store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.signature import infer_signature
from modelyard.errors import InvalidInput
from modelyard.monitoring.profile import categorical_profile, numeric_profile
from modelyard.tabular import read_table


def describe_table(path: Path, bins: int) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Rows, schema (like a signature's inputs) and per-column profile of a data file."""
    frame = read_table(path)
    if frame.shape[0] == 0:
        raise InvalidInput(f"{path.name} has columns but no rows; a dataset needs at least one")
    signature = infer_signature(
        frame, input_format="dataframe", output_kind="other", classes=None, has_proba=False
    )
    schema = {"columns": signature.to_dict()["inputs"]}
    profile: dict[str, Any] = {}
    for spec in signature.inputs:
        column = frame[spec.name]
        if spec.numeric:
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            profile[spec.name] = numeric_profile(values, bins)
        else:
            profile[spec.name] = categorical_profile(column)
    return int(frame.shape[0]), schema, profile
