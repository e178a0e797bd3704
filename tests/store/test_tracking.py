"""Runs: params, step-wise metrics, artifacts and an honest final status."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from modelyard import ActiveRun, Conflict, InvalidInput, NotFound, RunStatus, Yard


def test_params_and_metrics_are_recorded(yard: Yard) -> None:
    with yard.start_run(experiment="churn", name="baseline") as run:
        run.log_params({"C": 1.0, "penalty": "l2"})
        run.log_param("max_iter", 500)
        run.log_metrics({"auc": 0.97, "f1": 0.91})
    info = yard.get_run(run.id)
    assert (info.experiment, info.name, info.status) == ("churn", "baseline", RunStatus.FINISHED)
    assert info.params == {"C": "1.0", "penalty": "l2", "max_iter": "500"}
    assert info.metrics == {"auc": 0.97, "f1": 0.91}
    assert info.ended_at is not None
    assert info.ended_at >= info.started_at
    assert info.error == ""


def test_a_running_run_is_running(yard: Yard) -> None:
    run = yard.start_run()
    info = run.info()
    assert (info.status, info.ended_at, info.experiment) == (RunStatus.RUNNING, None, "default")


def test_metric_steps_auto_increment_per_key(yard: Yard) -> None:
    with yard.start_run() as run:
        for loss in (0.9, 0.5, 0.3):
            run.log_metric("loss", loss)
        run.log_metric("acc", 0.8)
    history = yard.stores.tracking.metric_history(run.id, "loss")
    assert [(p.step, p.value) for p in history] == [(0, 0.9), (1, 0.5), (2, 0.3)]
    assert [p.step for p in yard.stores.tracking.metric_history(run.id, "acc")] == [0]
    assert run.info().metrics == {"loss": 0.3, "acc": 0.8}


def test_explicit_steps_and_latest_value(yard: Yard) -> None:
    with yard.start_run() as run:
        run.log_metric("loss", 0.2, step=10)
        run.log_metric("loss", 0.7, step=0)
        run.log_metric("loss", 0.1)  # after the highest step so far
    history = yard.stores.tracking.metric_history(run.id, "loss")
    assert [(p.step, p.value) for p in history] == [(0, 0.7), (10, 0.2), (11, 0.1)]
    assert run.info().metrics["loss"] == 0.1


def test_metric_history_of_an_unknown_key_or_run(yard: Yard) -> None:
    with yard.start_run() as run:
        pass
    assert yard.stores.tracking.metric_history(run.id, "nothing") == []
    with pytest.raises(NotFound, match="run 'ffff' not found"):
        yard.stores.tracking.metric_history("ffff", "loss")


def test_log_artifact_is_content_addressed(yard: Yard, tmp_path: Path) -> None:
    data = b"confusion matrix\n1 2\n3 4\n"
    path = tmp_path / "confusion.txt"
    path.write_bytes(data)
    with yard.start_run() as run:
        ref = run.log_artifact(path)
        renamed = run.log_artifact(path, name="cm.txt")
    assert (ref.name, ref.sha256, ref.size) == (
        "confusion.txt",
        hashlib.sha256(data).hexdigest(),
        len(data),
    )
    assert renamed.sha256 == ref.sha256
    assert run.info().files == (renamed, ref)
    assert yard.stores.artifacts.get_bytes(ref.sha256, "confusion.txt") == data


def test_log_artifact_refuses_bad_names_missing_files_and_duplicates(
    yard: Yard, tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with yard.start_run() as run:
        with pytest.raises(NotFound, match="no such file"):
            run.log_artifact(tmp_path / "absent.txt")
        with pytest.raises(InvalidInput, match=r"invalid artifact name '\.\./x'"):
            run.log_artifact(path, name="../x")
        run.log_artifact(path)
        with pytest.raises(Conflict, match=r"already has an artifact named 'notes\.txt'"):
            run.log_artifact(path)
    assert [f.name for f in run.info().files] == ["notes.txt"]


def _diverge(run: ActiveRun) -> None:
    run.log_metric("loss", 1.0)
    raise ValueError("loss diverged")


def test_an_escaping_exception_fails_the_run_and_propagates(yard: Yard) -> None:
    run = yard.start_run()
    with pytest.raises(ValueError, match="diverged"), run:
        _diverge(run)
    info = yard.get_run(run.id)
    assert info.status == RunStatus.FAILED
    assert info.error == "ValueError: loss diverged"
    assert info.metrics == {"loss": 1.0}
    assert info.ended_at is not None


def test_logging_to_a_finished_run_is_a_conflict(yard: Yard, tmp_path: Path) -> None:
    with yard.start_run() as run:
        run.log_param("seed", 1)
    path = tmp_path / "late.txt"
    path.write_text("late")
    for late in (
        lambda: run.log_metric("auc", 0.5),
        lambda: run.log_param("late", 1),
        lambda: run.log_artifact(path),
        run.end,
    ):
        with pytest.raises(Conflict, match="is finished; only running runs can be logged to"):
            late()
    assert run.info().params == {"seed": "1"}
    assert run.info().files == ()


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        (float("nan"), "metric 'auc' is nan; metrics must be finite"),
        (float("inf"), "metric 'auc' is inf; metrics must be finite"),
        ("high", "must be a number, got 'high'"),
        ("0.5", "must be a number, got '0.5'"),
        (True, "must be a number, got True"),
    ],
)
def test_bad_metric_values_are_refused(yard: Yard, value: object, pattern: str) -> None:
    with yard.start_run() as run:
        with pytest.raises(InvalidInput, match=pattern):
            run.log_metric("auc", value)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match=pattern):
            run.log_metrics({"ok": 1.0, "auc": value})  # type: ignore[dict-item]
    assert run.info().metrics == {}


@pytest.mark.parametrize(
    ("key", "step", "pattern"),
    [
        ("", None, "invalid metric name"),
        ("a\nb", None, "invalid metric name"),
        ("x" * 251, None, "invalid metric name"),
        ("loss", -1, "step must be a whole number from 0 to"),
        ("loss", 1.5, "step must be a whole number from 0 to"),
        ("loss", True, "step must be a whole number from 0 to"),
        ("loss", 2**70, "step must be a whole number from 0 to"),
    ],
)
def test_bad_metric_keys_and_steps(yard: Yard, key: str, step: object, pattern: str) -> None:
    with yard.start_run() as run, pytest.raises(InvalidInput, match=pattern):
        run.log_metric(key, 1.0, step=step)  # type: ignore[arg-type]


def test_params_are_write_once(yard: Yard) -> None:
    with yard.start_run() as run:
        run.log_param("C", 1.0)
        run.log_param("C", "1.0")  # the same value again is fine
        with pytest.raises(Conflict, match=r"param 'C' of run \w+ is already '1.0'; params are"):
            run.log_param("C", 2.0)
        with pytest.raises(Conflict, match="write-once"):
            run.log_params({"new": 1, "C": 3})
    assert run.info().params == {"C": "1.0"}


def test_oversized_param_values_are_refused(yard: Yard) -> None:
    with yard.start_run() as run, pytest.raises(InvalidInput, match="at most 6000"):
        run.log_param("blob", "x" * 6001)


def test_run_ids_accept_unique_prefixes(yard: Yard) -> None:
    with yard.start_run() as run:
        pass
    assert len(run.id) == 32
    assert yard.stores.tracking.find_run(run.id[:8]) == run.id
    assert yard.get_run(run.id[:8]).id == run.id
    missing = "0" * 32 if run.id != "0" * 32 else "1" * 32
    with pytest.raises(NotFound, match=f"run '{missing}' not found"):
        yard.stores.tracking.find_run(missing)


def test_an_ambiguous_prefix_is_refused(yard: Yard) -> None:
    ids = [yard.start_run().id for _ in range(17)]  # 17 ids, 16 first digits: two share one
    shared = next(c for c, n in Counter(i[0] for i in ids).items() if n > 1)
    with pytest.raises(InvalidInput, match=f"run id prefix '{shared}' is ambiguous"):
        yard.stores.tracking.find_run(shared)


@pytest.mark.parametrize("prefix", ["", "XYZ", "abcg", "a" * 33, "../etc", "ABC"])
def test_invalid_run_ids(yard: Yard, prefix: str) -> None:
    with pytest.raises(InvalidInput, match="invalid run id"):
        yard.stores.tracking.find_run(prefix)


def test_list_runs_by_experiment(yard: Yard) -> None:
    churn = {yard.start_run(experiment="churn").id for _ in range(2)}
    fraud = yard.start_run(experiment="fraud").id
    assert {r.id for r in yard.list_runs("churn")} == churn
    assert [r.id for r in yard.list_runs("fraud")] == [fraud]
    assert {r.id for r in yard.list_runs()} == {*churn, fraud}
    assert len(yard.list_runs(limit=1)) == 1
    assert yard.list_runs("nobody") == []


def test_experiment_names_are_checked(yard: Yard) -> None:
    with pytest.raises(InvalidInput, match="invalid experiment name 'Churn Model'"):
        yard.start_run(experiment="Churn Model")
    assert yard.list_runs() == []


def test_ending_a_run_inside_its_block_is_not_an_error(yard: Yard) -> None:
    with yard.start_run() as run:
        run.log_metric("auc", 0.9)
        run.end(RunStatus.FAILED, "stopped early by the user")
    assert run.info().status == RunStatus.FAILED
    assert run.info().error == "stopped early by the user"
