"""A numeric column's values kept for its quantile edges, the same whatever order or
pieces the rows arrive in.

Up to ``limit`` finite values the sample is the whole column (its profile is then exact).
Past that, a value is kept when its row's key — a hash of the row's position (file, row
number), not a draw of a random stream — falls below a threshold ``2**-level``, the level
raised until at most ``thin`` values remain. The kept set depends only on the rows, so
samples built apart (per part, on other machines) and merged in any grouping hold exactly
the values one pass over the table would: the engines agree to the last bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

ROW_BITS = 40  # a file's rows are numbered in 40 bits (10^12 rows); the file above them
_MIX = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)  # splitmix64


def row_keys(file: int, rows: np.ndarray) -> np.ndarray:
    """A uniform 64-bit key per row (the splitmix64 finaliser of its position)."""
    z = rows.astype(np.uint64) + np.uint64(((file << ROW_BITS) + _MIX[0]) % 2**64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX[1])
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX[2])
    keys: np.ndarray = z ^ (z >> np.uint64(31))
    return keys


def _below(keys: np.ndarray, level: int) -> np.ndarray:
    kept: np.ndarray = (keys >> np.uint64(64 - level)) == 0
    return kept


@dataclass
class Sample:
    """The finite values of one numeric column (see the module's docstring)."""

    limit: int  # up to this many finite values, all are kept
    thin: int  # past it, at most this many
    level: int = 0  # 0: every value kept (whole, while ``seen <= limit``)
    before: int = 0  # finite values known to precede these rows (in earlier parts)
    parts: list[np.ndarray] = field(default_factory=list)
    # per part while level 0: (file, first row, positions of its finite values or None)
    places: list[tuple[int, int, np.ndarray | None]] = field(default_factory=list)
    keys: list[np.ndarray] = field(default_factory=list)  # per part once level > 0
    seen: int = 0
    missing: int = 0
    low: float = math.inf
    high: float = -math.inf

    @property
    def whole(self) -> bool:
        return self.level == 0

    @property
    def kept(self) -> int:
        return sum(int(p.size) for p in self.parts)

    def add(self, values: np.ndarray, file: int, start: int) -> None:
        """One batch of a column (NaN for missing) whose first row is row ``start``."""
        finite_mask = np.isfinite(values)
        all_finite = bool(finite_mask.all())
        finite = values if all_finite else values[finite_mask]
        self.missing += int(values.size - finite.size)
        if finite.size == 0:
            return
        self.seen += int(finite.size)
        self.low = min(self.low, float(finite.min()))
        self.high = max(self.high, float(finite.max()))
        where = None if all_finite else np.flatnonzero(finite_mask)
        if self.level == 0:
            # a copy, not a view of the Arrow buffer: a view keeps the whole decoded row
            # group alive (a batch is often a slice of one), twice the values kept
            self.parts.append(finite.copy() if all_finite else finite)
            self.places.append((file, start, where))
            if self.before + self.seen > self.limit:
                self._thin_out(0)
            return
        rows = np.arange(values.size) if where is None else where
        keys = row_keys(file, rows + start)
        keep = _below(keys, self.level)
        self.parts.append(finite[keep])
        self.keys.append(keys[keep])
        if self.kept > self.thin:
            self._thin_out(self.level)

    def _all_keys(self) -> list[np.ndarray]:
        if self.level > 0:
            return self.keys
        return [
            row_keys(file, (np.arange(part.size) if where is None else where) + start)
            for part, (file, start, where) in zip(self.parts, self.places, strict=True)
        ]

    def _thin_out(self, level: int) -> None:
        """Keep the values below ``2**-level`` or lower, until at most ``thin`` are left."""
        if not self.parts:
            self.level, self.places, self.keys = max(level, 1), [], []
            return
        values = np.concatenate(self.parts)
        keys = np.concatenate(self._all_keys())
        level = max(level, 1)
        keep = _below(keys, level)
        while int(np.count_nonzero(keep)) > self.thin:
            level += 1
            keep &= _below(keys, level)
        self.parts, self.keys, self.places = [values[keep]], [keys[keep]], []
        self.level = level

    def merge(self, other: Sample) -> None:
        """Add a sample of other rows of the same column (``other.seen`` counts its own)."""
        self.seen += other.seen
        self.missing += other.missing
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)
        if self.whole and other.whole and self.seen <= self.limit:
            self.parts += other.parts
            self.places += other.places
            return
        level = max(self.level, other.level)
        mine, theirs = self._all_keys(), other._all_keys()
        self.parts += other.parts
        self.keys = mine + theirs
        self.level = max(level, 1)  # keys now held for every part
        self.places = []
        self._thin_out(level)

    def sorted(self) -> np.ndarray:
        return np.sort(np.concatenate(self.parts)) if self.parts else np.empty(0)

    def release(self) -> None:
        self.parts, self.keys, self.places = [], [], []


@dataclass
class Moments:
    """Mean and standard deviation of every row of a column, shifted for precision."""

    shift: float
    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, finite: np.ndarray) -> None:
        centred = finite - self.shift
        self.n += int(finite.size)
        self.total += float(centred.sum())
        # not np.dot: OpenBLAS threads a long dot product, and four binning threads each
        # starting BLAS threads on two cores spent more time waiting than adding (10x slower)
        self.squares += float(np.square(centred).sum())

    def merge(self, other: Moments) -> None:
        self.n += other.n
        self.total += other.total
        self.squares += other.squares

    def result(self) -> tuple[float, float]:
        mean = self.total / self.n
        return self.shift + mean, math.sqrt(max(self.squares / self.n - mean * mean, 0.0))
