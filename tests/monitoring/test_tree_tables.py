"""The nanny's trees as lookup tables give what scikit-learn's ``predict`` gives."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from sklearn.multioutput import MultiOutputRegressor

from modelyard.flavors import get_flavor
from modelyard.monitoring.tree_tables import (
    ROW_BLOCK,
    ThresholdSearch,
    TreeTables,
    _bit_counts_numpy1,
    fast_predictor,
)


def losses_data(n: int, seed: int, missing: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (n, 4))
    error = rng.normal(0.0, 0.2 + np.abs(x[:, 0]))
    if missing:
        x[::7, 1] = np.nan
    return x, np.column_stack([np.abs(error), error**2])


def nanny(**params: object) -> MultiOutputRegressor:
    x, targets = losses_data(3000, 1, missing=True)
    regressor = HistGradientBoostingRegressor(random_state=0, **params)  # type: ignore[arg-type]
    return MultiOutputRegressor(regressor).fit(x, targets)


def awkward_rows(model: MultiOutputRegressor) -> np.ndarray:
    """Values on the thresholds themselves, beyond every threshold, infinite and missing."""
    x, _ = losses_data(500, 2)
    thresholds = [
        node["num_threshold"]
        for regressor in model.estimators_
        for (tree,) in regressor._predictors
        for node in tree.nodes
        if not node["is_leaf"] and node["feature_idx"] == 0
    ]
    x[:100, 0] = thresholds[:100]
    x[100:110] = 1e300
    x[110:120] = -np.inf
    x[120:140, 1] = np.nan
    x[140:150] = np.nan
    return x


def same_numbers(found: np.ndarray, expected: np.ndarray) -> None:
    """Equal to scikit-learn's predict up to the order trees are summed in."""
    np.testing.assert_allclose(found, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "params",
    [{}, {"max_iter": 30, "learning_rate": 0.3}, {"max_leaf_nodes": 60, "max_iter": 10}],
    ids=["defaults", "the nanny's", "more than 32 leaves"],
)
def test_tables_give_what_predict_gives(params: dict[str, object]) -> None:
    model = nanny(**params)
    tables = fast_predictor(model)
    assert isinstance(tables, TreeTables)
    rows = awkward_rows(model)
    same_numbers(tables.predict(rows), model.predict(rows))


def test_a_batch_past_one_block_and_an_empty_one() -> None:
    model = nanny(max_iter=20)
    tables = fast_predictor(model)
    x, _ = losses_data(ROW_BLOCK * 2 + 5, 3)
    same_numbers(tables.predict(x), model.predict(x))
    assert tables.predict(x[:0]).shape == (0, 2)


def test_one_regressor_gives_one_column() -> None:
    x, targets = losses_data(2000, 4)
    model = HistGradientBoostingRegressor(max_iter=20).fit(x, targets[:, 0])
    fast = fast_predictor(model)
    assert fast is not model
    same_numbers(fast.predict(x), model.predict(x))


def test_models_the_tables_do_not_cover_are_returned_as_they_are() -> None:
    x, targets = losses_data(2000, 5)
    linear = MultiOutputRegressor(LinearRegression()).fit(x, targets)
    poisson = HistGradientBoostingRegressor(loss="poisson", max_iter=5).fit(x, targets[:, 1])
    categories = np.column_stack([x, np.arange(len(x)) % 3])
    categorical = HistGradientBoostingRegressor(categorical_features=[4], max_iter=5)
    categorical.fit(categories, targets[:, 0])
    for model in (linear, poisson, categorical):
        assert fast_predictor(model) is model


def test_a_stored_nanny_loads_and_runs_as_tables() -> None:
    """A nanny as versions before the tables stored it (100 trees at 0.1, skops, no flag)
    loads through the flavor's trust check and gives the same losses."""
    model = nanny(max_iter=100)
    flavor = get_flavor("sklearn")
    saved = flavor.save(model, trust_types=False)
    adapter = flavor.load(saved.files, saved.meta)
    fast = fast_predictor(adapter)
    assert isinstance(fast, TreeTables)
    rows = awkward_rows(model)
    same_numbers(fast.predict(rows), adapter.predict(rows))


def test_threads_predicting_at_once_each_get_their_own_rows_answer() -> None:
    model = nanny(max_iter=20)
    tables = fast_predictor(model)
    batches = [losses_data(1000 + 100 * i, 10 + i)[0] for i in range(4)]
    expected = [model.predict(b) for b in batches]
    found: dict[int, list[np.ndarray]] = {i: [] for i in range(4)}

    def run(i: int) -> None:
        for _ in range(20):
            found[i].append(tables.predict(batches[i]))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, answers in found.items():
        for answer in answers:
            same_numbers(answer, expected[i])


@pytest.mark.parametrize(
    "thresholds",
    [
        np.linspace(-3.0, 3.0, 200),
        np.array([0.5]),
        np.array([-1.0, 0.0, 2.5, np.inf]),  # +inf: a split on missing values only
        np.concatenate([np.linspace(0.0, 1e-12, 50), [1e6]]),  # bunched: searchsorted
    ],
    ids=["spread", "one", "with +inf", "bunched"],
)
def test_the_grid_search_counts_as_searchsorted_does(thresholds: np.ndarray) -> None:
    rng = np.random.default_rng(7)
    finite = thresholds[np.isfinite(thresholds)]
    values = np.concatenate(
        [
            rng.normal(0.0, 2.0, 3000),
            finite,  # exactly on each threshold
            np.nextafter(finite, np.inf),
            np.nextafter(finite, -np.inf),
            [np.inf, -np.inf, 1e308, -1e308, 0.0],
        ]
    )
    search = ThresholdSearch(thresholds)
    np.testing.assert_array_equal(search.ranks(values), np.searchsorted(thresholds, values))
    assert search.ranks(np.array([np.nan, 1.0]))[0] == thresholds.size + 1  # the missing row


def test_a_split_on_missing_values_only_runs_as_predict_does() -> None:
    x, targets = losses_data(3000, 8)
    x[::4, 2] = np.nan
    targets[::4] += 50.0  # rows missing the feature have far larger losses
    model = MultiOutputRegressor(HistGradientBoostingRegressor(max_iter=10)).fit(x, targets)
    thresholds = [
        node["num_threshold"]
        for regressor in model.estimators_
        for (tree,) in regressor._predictors
        for node in tree.nodes
        if not node["is_leaf"]
    ]
    assert np.isinf(thresholds).any()
    rows = awkward_rows(model)
    rows[::3, 2] = np.nan
    rows[1::3, 2] = np.inf
    np.testing.assert_allclose(
        fast_predictor(model).predict(rows), model.predict(rows), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("mask_type", [np.uint32, np.uint64])
def test_leaves_are_found_without_numpy_2s_bit_count(mask_type: type) -> None:
    """numpy 1.26 (which the package still accepts) has no ``bitwise_count``."""
    bits = 8 * np.dtype(mask_type).itemsize
    lowest = np.arange(bits, dtype=np.uint64)
    marked = ((np.uint64(2) << lowest) - np.uint64(1)).astype(mask_type)  # overflow at 64: all
    found = _bit_counts_numpy1(marked, np.empty(bits, dtype=np.uint8))
    np.testing.assert_array_equal(found, np.arange(1, bits + 1))


def test_ensembles_that_combine_their_members_are_left_to_their_own_predict() -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor, VotingRegressor

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 3)), rng.normal(size=300)
    members = [(f"m{i}", HistGradientBoostingRegressor(max_iter=5, random_state=i)) for i in (1, 2)]
    voting = VotingRegressor(members).fit(x, y)
    assert fast_predictor(voting) is voting


def test_a_matrix_of_the_wrong_width_is_refused_as_scikit_learn_refuses_it() -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 3)), rng.normal(size=300)
    fast = fast_predictor(HistGradientBoostingRegressor(max_iter=5).fit(x, y))
    with pytest.raises(ValueError, match="3 columns"):
        fast.predict(np.zeros((2, 4)))


def test_thresholds_too_far_apart_for_a_grid_are_searched() -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(0)
    x = rng.choice([0.0, 1e-322, 2e-322, 3e-322], size=(400, 1))  # a subnormal span
    y = (x[:, 0] > 1.5e-322) + rng.normal(scale=0.1, size=400)
    model = HistGradientBoostingRegressor(max_iter=5, random_state=0).fit(x, y)
    fast = fast_predictor(model)
    assert fast is not model
    probe = np.array([[-1.0], [0.0], [1e-322], [2.5e-322], [1.0], [np.nan]])
    np.testing.assert_allclose(fast.predict(probe), model.predict(probe), rtol=1e-12)
