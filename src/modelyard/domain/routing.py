"""Which version answers a request: weighted buckets, sticky by a stable hash of a key.

Every endpoint's weighted routes share BUCKETS buckets in route order (90/10 → buckets
0–8999 and 9000–9999). A request with a routing key lands in the bucket of blake2b(key),
which is the same in every process and every release (Python's ``hash()`` is salted per
process); without a key it lands in a random bucket. A key therefore meets the same version
as long as the weights stay; changing weights moves only the keys whose bucket changes
owner: going from 90/10 to 80/20 reassigns the 10% of keys in buckets 8000–8999.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Sequence

BUCKETS = 10_000


def bucket_of(key: str) -> int:
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def bounds_of(weights: Sequence[float]) -> tuple[int, ...]:
    """Cumulative upper bucket bounds of weights that sum to 100."""
    bounds: list[int] = []
    total = 0.0
    for weight in weights:
        total += weight
        bounds.append(round(total * BUCKETS / 100))
    if bounds:
        bounds[-1] = BUCKETS
    return tuple(bounds)


def choose(bounds: Sequence[int], key: str | None, rng: random.Random | None = None) -> int:
    """Index of the route a request goes to."""
    bucket = bucket_of(key) if key is not None else (rng or random).randrange(BUCKETS)
    return min(bisect.bisect_right(bounds, bucket), len(bounds) - 1)
