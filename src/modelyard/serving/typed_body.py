"""v1 records decoded straight into a float matrix, for models whose features are all
numbers: the common request, in one typed pass.

``orjson.loads`` makes a dict and a float object per value, which the fast path of
runtime/inputs.py then reads back one by one, type-checks and copies into an array. A
msgspec decoder built once per signature instead checks, while it parses, that the body is
``{"instances": [{feature: number, …}, …]}`` with exactly the model's features, and the
values go straight into the matrix (bench/README.md: about half the decode time of a
100-row request).

Anything else — another shape, a missing, extra or non-numeric value, a boolean, a
non-finite number — returns ``None``: the caller then parses the body as before, and the
same checks as always word the 400 or 422. So this adds no rule of its own.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import msgspec
import numpy as np

from modelyard.domain.signature import Signature
from modelyard.runtime.inputs import Columns

_DECODERS: dict[tuple[str, ...], msgspec.json.Decoder[Any]] = {}
_MAX_DECODERS = 256  # one per signature served; a bound, not a cache policy


def decode_records(signature: Signature, raw: bytes, max_rows: int | None = None) -> Columns | None:
    """The rows of a well-formed records body for ``signature``, or ``None`` (also past
    ``max_rows``: the general path words that 413 without a matrix built first)."""
    if not (signature.all_numeric and not signature.has_bool):
        return None
    decoder = _decoder(signature.feature_names)
    try:
        body = decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    rows = body.instances
    if not rows or (max_rows is not None and len(rows) > max_rows):
        return None
    width = len(signature.feature_names)
    # One flat pass over the values (half the time of np.array over a list of tuples:
    # 100 rows of 30 features, 50 vs 104 µs), then the rows' shape.
    values = chain.from_iterable(map(msgspec.structs.astuple, rows))
    try:
        matrix = np.fromiter(values, dtype=np.float64, count=len(rows) * width)
    except (OverflowError, ValueError):
        return None
    # No finite check: msgspec refuses a number out of a float's range (1e999, a
    # 400-digit integer) and NaN or Infinity are not JSON, so every value here is finite.
    matrix = matrix.reshape(len(rows), width)
    return Columns(signature.feature_names, len(rows), numbers=matrix)


def _decoder(names: tuple[str, ...]) -> msgspec.json.Decoder[Any]:
    decoder = _DECODERS.get(names)
    if decoder is None:
        # Struct fields must be identifiers; feature names need not be: f0, f1… renamed.
        fields = [(f"f{i}", float) for i in range(len(names))]
        record = msgspec.defstruct(
            "Record",
            fields,
            rename={f"f{i}": name for i, name in enumerate(names)},
            forbid_unknown_fields=True,
        )
        rows: Any = list[record]  # type: ignore[valid-type]  # a type made at run time
        body = msgspec.defstruct("Records", [("instances", rows)], forbid_unknown_fields=True)
        decoder = msgspec.json.Decoder(body)
        if len(_DECODERS) >= _MAX_DECODERS:
            _DECODERS.clear()
        _DECODERS[names] = decoder
    return decoder
