"""The nanny's boosted trees evaluated as lookup tables, many times faster than walking them.

scikit-learn's ``HistGradientBoostingRegressor.predict`` walks every tree for every row,
one tree at a time (about 30 ns per row and tree here): a 2,000-row window through two
models of ~30 trees each costs milliseconds. The same trees can be evaluated with array
operations instead (the "QuickScorer" idea): number each tree's leaves left to right and give
every split a bit mask that clears the leaves of its left branch. A row's leaf in a tree is
the lowest bit still set after clearing, for every split whose test sends the row right.
Per feature, the splits a value passes are a prefix of the sorted thresholds, so the AND of
their masks is precomputed per threshold: a row costs one threshold search per feature, one
table row per feature and tree, and a leaf lookup, all vectorized in numpy.

The result equals ``predict`` (up to floating-point summation order), missing values
included. Models this does not cover (categorical splits, other losses, more than 64 leaves,
any other estimator) are returned unchanged by :func:`fast_predictor`, so a stored nanny of
any kind keeps working.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

ROW_BLOCK = 2048  # rows per pass: bounds the (rows x trees) work arrays
GRID_MIN, GRID_PER_THRESHOLD, GRID_MAX = 1024, 16, 65536  # cells of a feature's search grid
CELL_MAX = 4  # thresholds a grid cell may hold; past that, plain searchsorted
MAX_TABLE_BYTES = 64 * 2**20  # past this, the tables would cost more memory than they save


class TreeTables:
    """One or more squared-error gradient-boosting regressors over the same inputs, as
    lookup tables; ``predict`` gives one column per regressor."""

    def __init__(self, regressors: Sequence[Any]) -> None:
        trees = [
            (output, _nodes(tree))
            for output, regressor in enumerate(regressors)
            for (tree,) in regressor._predictors
        ]
        leaves = [int(nodes["is_leaf"].sum()) for _, nodes in trees]
        self._mask_type = np.uint32 if max(leaves, default=1) <= 32 else np.uint64
        width = 8 * np.dtype(self._mask_type).itemsize + 1  # leaf k is looked up at k + 1
        n_trees = len(trees)
        self._inputs = int(regressors[0].n_features_in_)
        self._baseline = np.array([_baseline(r) for r in regressors], dtype=float)
        self._values = np.zeros((n_trees, width))
        self._offsets = np.arange(n_trees, dtype=np.intp) * width
        self._owner = np.zeros((n_trees, len(regressors)))
        splits: dict[int, list[tuple[float, int, int, bool]]] = {}
        for t, (output, nodes) in enumerate(trees):
            self._owner[t, output] = 1.0
            leaves, masks = _leaves_and_masks(nodes)
            self._values[t, 1 : 1 + len(leaves)] = nodes["value"][leaves]
            for node, mask in masks.items():
                row = nodes[node]
                splits.setdefault(int(row["feature_idx"]), []).append(
                    (float(row["num_threshold"]), t, mask, not bool(row["missing_go_to_left"]))
                )
        self._features = sorted(splits)
        self._searches: list[ThresholdSearch] = []
        self._tables: list[np.ndarray] = []
        for feature in self._features:
            thresholds, table = self._table(splits[feature], n_trees)
            self._searches.append(ThresholdSearch(thresholds))
            self._tables.append(table)
        self._scratch = threading.local()

    def _table(
        self, splits: list[tuple[float, int, int, bool]], n_trees: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row k: the AND of the masks of the splits a value above the k smallest distinct
        thresholds passes; the last row: those a missing value passes."""
        thresholds = np.unique([s[0] for s in splits])
        full = int(np.iinfo(self._mask_type).max)
        table = np.full((thresholds.size + 2, n_trees), full, dtype=self._mask_type)
        for threshold, tree, mask, missing_right in splits:
            rank = int(np.searchsorted(thresholds, threshold))
            table[rank + 1, tree] &= self._mask_type(mask & full)
            if missing_right:
                table[-1, tree] &= self._mask_type(mask & full)
        np.bitwise_and.accumulate(table[:-1], axis=0, out=table[:-1])
        return thresholds, table

    @property
    def nbytes(self) -> int:
        searches = sum(s.nbytes for s in self._searches)
        return searches + sum(t.nbytes for t in self._tables) + self._values.nbytes

    def predict(self, matrix: Any) -> np.ndarray:
        rows = np.asarray(matrix, dtype=float)
        if rows.ndim != 2 or rows.shape[1] != self._inputs:
            raise ValueError(
                f"expected a matrix of {self._inputs} columns, got the shape {rows.shape}"
            )
        if rows.shape[0] <= ROW_BLOCK:
            return self._predict_block(rows)
        blocks = [
            self._predict_block(rows[i : i + ROW_BLOCK]) for i in range(0, len(rows), ROW_BLOCK)
        ]
        return np.concatenate(blocks)

    def _buffers(self, rows: int) -> _Buffers:
        """This thread's work arrays, reused: fresh ones of this size cost a page fault per
        4 KiB on every call, more than the arithmetic."""
        found: _Buffers | None = getattr(self._scratch, "buffers", None)
        if found is None or found.rows < rows:
            found = _Buffers(rows, len(self._offsets), self._mask_type)
            self._scratch.buffers = found
        return found

    def _predict_block(self, rows: np.ndarray) -> np.ndarray:
        n = rows.shape[0]
        work = self._buffers(n)
        alive, passed = work.alive[:n], work.passed[:n]
        alive.fill(np.iinfo(self._mask_type).max)
        columns = rows.T.copy()  # contiguous columns
        for feature, search, table in zip(
            self._features, self._searches, self._tables, strict=True
        ):
            np.take(table, search.ranks(columns[feature]), axis=0, out=passed, mode="clip")
            np.bitwise_and(alive, passed, out=alive)
        # The lowest set bit is the leaf: x ^ (x - 1) sets it and every bit below it.
        np.subtract(alive, self._mask_type(1), out=passed)
        np.bitwise_xor(alive, passed, out=passed)
        leaf = _bit_counts(passed, work.leaf[:n])
        index = np.add(leaf, self._offsets, out=work.index[:n])
        values: np.ndarray = np.take(
            self._values.reshape(-1), index, out=work.values[:n], mode="clip"
        )
        return np.asarray(values @ self._owner + self._baseline)


class _Buffers:
    def __init__(self, rows: int, n_trees: int, mask_type: Any) -> None:
        self.rows = rows
        self.alive = np.empty((rows, n_trees), dtype=mask_type)
        self.passed = np.empty_like(self.alive)
        self.leaf = np.empty((rows, n_trees), dtype=np.uint8)
        self.index = np.empty((rows, n_trees), dtype=np.intp)
        self.values = np.empty((rows, n_trees))


class ThresholdSearch:
    """How many of a feature's sorted thresholds lie below each value (``searchsorted``,
    5x faster): values fall in cells of a uniform grid; a cell knows how many thresholds
    lie in the cells below it and holds its own few, compared one by one. Cells come from
    one monotone float expression, used for values and thresholds alike, so the count is
    exact. Thresholds bunched so that a cell would hold more than ``CELL_MAX`` are searched
    with ``searchsorted``. Missing values get the table's last row."""

    def __init__(self, thresholds: np.ndarray) -> None:
        self.size = thresholds.size
        self._thresholds = thresholds
        finite = thresholds[np.isfinite(thresholds)]  # +inf: scikit-learn's split on missing
        self._low = float(finite[0]) if finite.size else 0.0
        span = float(finite[-1]) - self._low if finite.size else 0.0
        self._cells = int(min(GRID_MAX, max(GRID_MIN, GRID_PER_THRESHOLD * thresholds.size)))
        self._scale = (self._cells - 1) / span if span > 0 else 1.0  # Python floats: inf
        if not (math.isfinite(span) and math.isfinite(self._scale) and self._scale > 0):
            # Thresholds from about -1e308 to 1e308, or a subnormal span: no grid fits.
            self._low, self._scale = 0.0, 1.0
            home = np.zeros(thresholds.size, dtype=np.intp)
            self._below = np.zeros(self._cells + 2, dtype=np.intp)
            self._gridded = False
            self._inside = np.full((0, self._cells + 2), np.inf)
            return
        home = self._cell(thresholds)
        self._below = np.searchsorted(home, np.arange(self._cells + 2)).astype(np.intp)
        per_cell = int(np.bincount(home).max())
        self._gridded = per_cell <= CELL_MAX
        self._inside = np.full((per_cell if self._gridded else 0, self._cells + 2), np.inf)
        if self._gridded:  # row k: each cell's (k+1)-th threshold, +inf where it has fewer
            for j, cell in enumerate(home):
                self._inside[j - self._below[cell], cell] = thresholds[j]

    @property
    def nbytes(self) -> int:
        return int(self._below.nbytes + self._inside.nbytes + self._thresholds.nbytes)

    def _cell(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # far beyond the thresholds: +-inf, clipped next
            scaled = (values - self._low) * self._scale
        np.clip(scaled, -1.0, float(self._cells), out=scaled)
        return np.floor(scaled, out=scaled).astype(np.intp) + 1

    def ranks(self, column: np.ndarray) -> np.ndarray:
        missing = np.isnan(column)
        anything_missing = bool(missing.any())
        if anything_missing:
            column = np.where(missing, self._low, column)
        if self._gridded:
            cell = self._cell(column)
            rank = self._below.take(cell)
            for inside in self._inside:
                rank += inside.take(cell) < column
        else:
            rank = np.searchsorted(self._thresholds, column)
        if anything_missing:
            rank[missing] = self.size + 1
        return rank


def fast_predictor(model: Any) -> Any:
    """``model`` (or the estimator inside a flavor adapter) as :class:`TreeTables` when
    it is a squared-error ``HistGradientBoostingRegressor``, or a ``MultiOutputRegressor`` of
    them, that the tables cover exactly; anything else unchanged."""
    from sklearn.multioutput import MultiOutputRegressor

    estimator = getattr(model, "model", model)
    # Only a plain multi-output wrapper's members are its columns: a voting, bagging,
    # stacking or chained ensemble combines its members' predictions its own way.
    several = type(estimator) is MultiOutputRegressor
    regressors = list(estimator.estimators_) if several else [estimator]
    if not regressors or not all(_covered(r) for r in regressors):
        return model
    try:
        tables = TreeTables(regressors)
    except (AttributeError, KeyError, ValueError, TypeError):  # another scikit-learn layout
        return model
    if tables.nbytes > MAX_TABLE_BYTES:
        return model
    return tables if several else _OneColumn(tables)


class _OneColumn:
    def __init__(self, tables: TreeTables) -> None:
        self._tables = tables

    def predict(self, matrix: Any) -> np.ndarray:
        return self._tables.predict(matrix)[:, 0]


def _covered(regressor: Any) -> bool:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return (
        type(regressor) is HistGradientBoostingRegressor  # a subclass may predict its own way
        and regressor.loss == "squared_error"
        and getattr(regressor, "_preprocessor", None) is None
        and getattr(regressor, "is_categorical_", None) is None
        and all(len(trees) == 1 for trees in getattr(regressor, "_predictors", [[]]))
    )


def _bit_counts(marked: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The set bits of each ``marked`` (a lowest set bit and every bit below it)."""
    count = getattr(np, "bitwise_count", None)  # numpy 2
    if count is None:
        return _bit_counts_numpy1(marked, out)
    count(marked, out=out)
    return out


def _bit_counts_numpy1(marked: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The same for numpy 1.26: ``marked`` + 1 is a power of two (as a float, exactly or
    rounded to it), and ``frexp`` gives its exponent."""
    _, exponent = np.frexp(marked.astype(float) + 1.0)
    np.subtract(exponent, 1, out=out, casting="unsafe")
    return out


def _nodes(tree: Any) -> np.ndarray:
    nodes = np.asarray(tree.nodes)
    if nodes["is_categorical"].any() or int(nodes["is_leaf"].sum()) > 64:
        raise ValueError("a tree the tables do not cover")
    return nodes


def _baseline(regressor: Any) -> float:
    return float(np.ravel(regressor._baseline_prediction)[0])


def _leaves_and_masks(nodes: np.ndarray) -> tuple[list[int], dict[int, int]]:
    """The leaves left to right, and each split's mask: every bit set but those of the
    leaves of its left branch."""
    leaves: list[int] = []
    spans: dict[int, tuple[int, int]] = {}
    stack: list[tuple[int, bool]] = [(0, False)]
    while stack:  # depth first, left before right: leaves come out left to right
        node, children_done = stack.pop()
        left, right = int(nodes["left"][node]), int(nodes["right"][node])
        if nodes["is_leaf"][node]:
            spans[node] = (len(leaves), len(leaves))
            leaves.append(node)
        elif children_done:
            spans[node] = (spans[left][0], spans[right][1])
        else:
            stack += [(node, True), (right, False), (left, False)]
    every = (1 << 64) - 1
    masks = {}
    for node in spans:
        if not nodes["is_leaf"][node]:
            first, last = spans[int(nodes["left"][node])]
            masks[node] = every & ~(((1 << (last - first + 1)) - 1) << first)
    return leaves, masks
