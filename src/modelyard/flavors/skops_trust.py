"""Which types a ``.skops`` file may name without a flag, and the checks that enforce it.

skops rebuilds a model by importing every ``module.name`` its ``schema.json`` names and, for
some nodes, calling it (``ConstructorFromReduceNode`` calls ``name(*args)``). Its defaults
cover the public estimators, but not the internals real models carry (``Tree``, ``KDTree``…),
and trusting "anything from scikit-learn, numpy or scipy" let a crafted file call
``numpy.testing._private.utils.runstring`` — arbitrary code — at registration.

So the rule is type by type: beyond skops' own defaults, a file may name only the classes
listed here, each found by fitting the common estimator families (``sklearn.utils.
all_estimators`` with default parameters, pipelines, text vectorizers, encoders, and the
documented non-default variants) and each kept for a stated reason. Plain functions are never
listed, not even scikit-learn's: a function named in a model is a function the model may call.
Anything else needs the caller's explicit trust (``trust_types=True`` / ``--trust-types``),
which is recorded in the version row and in the audit log.

The list is versioned: a version row records the list it was checked against, and loading
checks the stored file against the *current* list again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from modelyard.errors import UnsupportedModel, UntrustedContent, first_line

ALLOW_LIST_VERSION = 1

_TREE_NOTE = (
    "; a class, rebuilt from arrays — as skops notes, scikit-learn does not bounds-check the "
    "node indices, so a crafted file can crash (not take over) the process at predict"
)
_METRIC_NOTE = "the metric object a KDTree/BallTree holds for metric="

# type name -> why a model needs it (and which models do)
ALLOWED: Mapping[str, str] = {
    # -- trees ----------------------------------------------------------------------------
    "sklearn.tree._tree.Tree": "node storage of DecisionTree*, ExtraTree*, RandomForest*, "
    "ExtraTrees*, GradientBoosting*, AdaBoost*, Bagging*, IsolationForest, "
    "RandomTreesEmbedding" + _TREE_NOTE,
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": "the trees of "
    "HistGradientBoosting*" + _TREE_NOTE,
    # -- neighbours -----------------------------------------------------------------------
    "sklearn.neighbors._kd_tree.KDTree": "index of KNeighbors*, RadiusNeighbors*, "
    "NearestNeighbors, KernelDensity, LocalOutlierFactor (algorithm auto/kd_tree)",
    "sklearn.neighbors._ball_tree.BallTree": "index of the same estimators with "
    "algorithm=ball_tree or a metric a KD tree lacks",
    **{
        f"sklearn.metrics._dist_metrics.{cls}Distance64": f"{_METRIC_NOTE}{metric!r}"
        for cls, metric in (
            ("Euclidean", "euclidean"),
            ("Manhattan", "manhattan"),
            ("Chebyshev", "chebyshev"),
            ("Minkowski", "minkowski with p other than 1, 2"),
            ("SEuclidean", "seuclidean"),
            ("Mahalanobis", "mahalanobis"),
            ("Haversine", "haversine"),
            ("Hamming", "hamming"),
            ("Canberra", "canberra"),
            ("BrayCurtis", "braycurtis"),
            ("Jaccard", "jaccard"),
            ("Dice", "dice"),
            ("RogersTanimoto", "rogerstanimoto"),
            ("RussellRao", "russellrao"),
            ("SokalMichener", "sokalmichener"),
            ("SokalSneath", "sokalsneath"),
        )
        # Not PyFuncDistance64: it wraps a Python callable (metric=<function>).
    },
    # -- losses, calibration, optimisers --------------------------------------------------
    "sklearn._loss.loss.HalfTweedieLoss": "loss of TweedieRegressor (link log); skops "
    "trusts the other losses itself",
    "sklearn._loss.loss.HalfTweedieLossIdentity": "loss of TweedieRegressor (link identity, "
    "its default for power 0)",
    "sklearn.calibration._CalibratedClassifier": "each fold of CalibratedClassifierCV",
    "sklearn.calibration._SigmoidCalibration": "CalibratedClassifierCV(method='sigmoid'), "
    "the default",
    "sklearn.calibration._TemperatureScaling": "CalibratedClassifierCV(method='temperature')",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer": "optimiser state kept by "
    "MLP* (solver='adam', the default) for warm starts",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer": "the same for solver='sgd'",
    # -- Gaussian processes ---------------------------------------------------------------
    "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace": "the binary "
    "models inside GaussianProcessClassifier",
    **{
        f"sklearn.gaussian_process.kernels.{kernel}": "a GaussianProcess* kernel (the default "
        "is ConstantKernel * RBF); compositions are Sum, Product, Exponentiation"
        for kernel in (
            "ConstantKernel",
            "WhiteKernel",
            "RBF",
            "Matern",
            "RationalQuadratic",
            "ExpSineSquared",
            "DotProduct",
            "PairwiseKernel",
            "Sum",
            "Product",
            "Exponentiation",
        )
    },
    # -- containers -----------------------------------------------------------------------
    "sklearn.utils._bunch.Bunch": "named_estimators_ of Stacking* and Voting*",
    "sklearn.multiclass._ConstantPredictor": "a one-class column in OneVsRest/OneVsOne/"
    "OutputCode classifiers",
    "numpy.dtype": "fitted dtypes of SimpleImputer and encoders (read from an empty array, "
    "never called by name by skops)",
    "scipy.sparse._csr.csr_matrix": "components_ of SparseRandomProjection (read from .npz, "
    "never called by name by skops)",
}
# Seen while building the list and left out on purpose (each needs --trust-types):
# functools.partial and sklearn.utils.validation.check_array (HistGradientBoosting with
# categorical columns), f_classif/f_regression/chi2/mutual_info_* (SelectKBest & co.),
# numpy.mean (FeatureAgglomeration), _kmeans_single_lloyd and _BisectingTree (BisectingKMeans),
# scipy's BSpline with its array-API asarray (SplineTransformer), the scorers and metadata
# requests of TunedThresholdClassifierCV: functions, or classes only ever seen with one.


@dataclass(frozen=True)
class TrustRecord:
    """What a version row records about the types its file needs beyond skops' defaults."""

    needed: tuple[str, ...]  # every such type, as skops names it
    by_flag: tuple[str, ...]  # those outside the allow-list, trusted by an explicit flag

    def meta(self) -> dict[str, Any]:
        return {
            "trusted_types": list(self.needed),
            "allow_list": ALLOW_LIST_VERSION,
            "trusted_by_flag": list(self.by_flag),
            "foreign_types_trusted": bool(self.by_flag),  # the name older rows used
        }


def untrusted_types(data: bytes) -> list[str]:
    """The types a skops file names beyond skops' defaults; nothing is imported or run."""
    import skops.io as sio

    try:
        return sorted(sio.get_untrusted_types(data=data))
    except Exception as exc:  # a damaged archive surfaces as zipfile/json/key errors
        raise UnsupportedModel(f"not a valid skops file: {first_line(exc)}") from None


def beyond_allow_list(types: Iterable[str]) -> list[str]:
    return sorted({t for t in types if t not in ALLOWED})


def vet_new_file(data: bytes, *, trust_types: bool) -> TrustRecord:
    """At registration: types outside the allow-list need the explicit flag."""
    needed = untrusted_types(data)
    beyond = beyond_allow_list(needed)
    if beyond and not trust_types:
        raise UntrustedContent(
            f"the model names {_listing(beyond)}, outside modelyard's skops allow-list "
            f"(v{ALLOW_LIST_VERSION}: classes only, never functions); pass --trust-types "
            "(trust_types=True) only if you trust where the file came from"
        )
    return TrustRecord(tuple(needed), tuple(beyond))


def vet_stored_file(data: bytes, meta: Mapping[str, Any]) -> list[str]:
    """At every load, from the hash-verified bytes: the types to hand to skops.

    The file may need only types its row records, and the row may record only types on the
    current allow-list or trusted by an explicit flag (at registration or restore).
    """
    recorded = _names(meta.get("trusted_types", []), "trusted_types")
    needed = untrusted_types(data)
    unrecorded = sorted(set(needed) - set(recorded))
    if unrecorded:
        raise UntrustedContent(
            f"the stored model file names {_listing(unrecorded)}, which its version row "
            "does not record as trusted (the row or the file was altered, or a newer skops "
            "trusts less by default); register the file again"
        )
    unvouched = sorted(set(beyond_allow_list(recorded)) - set(trusted_by_flag(meta)))
    if unvouched:
        raise UntrustedContent(
            f"the version row trusts {_listing(unvouched)}, outside the skops allow-list "
            f"(v{ALLOW_LIST_VERSION}) and never trusted with --trust-types; register the "
            "file again (or restore with --trust-types) if you trust it"
        )
    return needed


def trusted_by_flag(meta: Mapping[str, Any]) -> list[str]:
    """Types a row says were trusted explicitly.

    Rows written before the allow-list (no ``allow_list`` key) only say whether types from
    outside scikit-learn/numpy/scipy were trusted; only those count as vouched for, so a
    function from those libraries that the old rule let through is not.
    """
    if "allow_list" in meta:
        return _names(meta.get("trusted_by_flag", []), "trusted_by_flag")
    if meta.get("foreign_types_trusted") is not True:
        return []
    recorded = _names(meta.get("trusted_types", []), "trusted_types")
    return [t for t in recorded if t.split(".", 1)[0] not in ("sklearn", "numpy", "scipy")]


def _names(value: object, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UntrustedContent(f"the version row's {field} is not a list of type names")
    return value


def _listing(types: list[str]) -> str:
    shown = ", ".join(types[:5])
    return shown + (f" and {len(types) - 5} more" if len(types) > 5 else "")
