"""Experiments and runs: append-only params, step-wise metrics, files, status."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modelyard.domain.entities import FileRef, MetricPoint, Run, RunStatus
from modelyard.domain.names import check_name
from modelyard.domain.values import (
    MAX_STEP,
    check_key,
    check_mapping,
    check_metrics,
    check_text,
)
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.store import audit, blobs
from modelyard.store.db import Database, insert_ignore
from modelyard.store.schema import ExperimentRow, FileRow, MetricRow, ParamRow, RunRow, utcnow

OWNER_RUN = "run"
MAX_PARAM_VALUE = 6000
MAX_RUN_NAME = 128


@dataclass(frozen=True)
class NewRun:
    """A run recorded elsewhere (an MLflow tracking folder), written whole in the
    transaction that registers the version it produced."""

    id: str
    experiment: str
    name: str
    status: RunStatus
    started_at: datetime
    ended_at: datetime | None
    params: dict[str, str]
    metrics: tuple[tuple[str, float, int, datetime], ...]  # key, value, step, when
    provenance: dict[str, Any]
    error: str = ""

    def checked(self) -> NewRun:
        """Refuse what ``log_params`` / ``log_metrics`` would refuse, before any write."""
        check_name(self.experiment, "experiment name")
        check_text(self.name, "run name", MAX_RUN_NAME)
        for key, value in self.params.items():
            check_key(key, "param")
            if len(value) > MAX_PARAM_VALUE:
                raise InvalidInput(
                    f"param {key!r} is {len(value)} characters; at most {MAX_PARAM_VALUE}"
                )
        for key, number, step, _ in self.metrics:
            check_metrics({key: number})
            if not 0 <= step <= MAX_STEP:
                raise InvalidInput(f"metric {key!r}: step {step} is not from 0 to {MAX_STEP}")
        return self


def insert_run(session: Session, run: NewRun, actor: str) -> str:
    """Write ``run`` in ``session``; a run imported before under the same id is reused."""
    existing = session.get(RunRow, run.id)
    if existing is not None:
        if existing.provenance.get("imported_from") != run.provenance.get("imported_from"):
            raise Conflict(f"run {run.id} exists and was not imported from the same place")
        return run.id
    insert_ignore(
        session, ExperimentRow, {"name": run.experiment, "created_at": utcnow()}, ["name"]
    )
    exp_id = session.scalar(select(ExperimentRow.id).where(ExperimentRow.name == run.experiment))
    audit.record(session, actor, "run.import", f"run:{run.id}", {"experiment": run.experiment})
    session.add(
        RunRow(
            id=run.id,
            experiment_id=exp_id,
            name=run.name,
            status=run.status.value,
            started_at=run.started_at,
            ended_at=run.ended_at,
            provenance=run.provenance,
            error=run.error,
        )
    )
    session.flush()
    session.add_all(ParamRow(run_id=run.id, key=k, value=v) for k, v in run.params.items())
    session.add_all(
        MetricRow(run_id=run.id, key=k, value=v, step=step, at=at) for k, v, step, at in run.metrics
    )
    return run.id


class TrackingStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create_run(self, experiment: str, name: str, provenance: dict[str, Any], actor: str) -> str:
        check_name(experiment, "experiment name")
        check_text(name, "run name", MAX_RUN_NAME)
        run_id = uuid.uuid4().hex

        def work(session: Session) -> str:
            insert_ignore(
                session, ExperimentRow, {"name": experiment, "created_at": utcnow()}, ["name"]
            )
            exp_id = session.scalar(
                select(ExperimentRow.id).where(ExperimentRow.name == experiment)
            )
            audit.record(session, actor, "run.start", f"run:{run_id}", {"experiment": experiment})
            session.add(
                RunRow(
                    id=run_id,
                    experiment_id=exp_id,
                    name=name,
                    status=RunStatus.RUNNING.value,
                    started_at=utcnow(),
                    provenance=provenance,
                    error="",
                )
            )
            return run_id

        return self.db.write(work)

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        values = {check_key(k, "param"): str(v) for k, v in check_mapping(params, "params").items()}
        for key, value in values.items():
            if len(value) > MAX_PARAM_VALUE:
                raise InvalidInput(
                    f"param {key!r} is {len(value)} characters; at most {MAX_PARAM_VALUE}"
                )

        def work(session: Session) -> None:
            _running(session, run_id)
            for key, value in values.items():
                existing = session.get(ParamRow, (run_id, key))
                if existing is not None and existing.value != value:
                    raise Conflict(
                        f"param {key!r} of run {run_id} is already {existing.value!r}; "
                        "params are write-once"
                    )
                if existing is None:
                    session.add(ParamRow(run_id=run_id, key=key, value=value))

        self.db.write(work)

    def log_metrics(self, run_id: str, metrics: dict[str, float], step: int | None) -> None:
        points = list(check_metrics(metrics).items())
        if step is not None and (
            isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP
        ):
            raise InvalidInput(f"step must be a whole number from 0 to {MAX_STEP}, got {step!r}")

        def work(session: Session) -> None:
            _running(session, run_id)
            for key, number in points:
                at_step = step
                if at_step is None:
                    last = session.scalar(
                        select(func.max(MetricRow.step)).where(
                            MetricRow.run_id == run_id, MetricRow.key == key
                        )
                    )
                    at_step = 0 if last is None else int(last) + 1
                session.add(
                    MetricRow(run_id=run_id, key=key, value=number, step=at_step, at=utcnow())
                )

        self.db.write(work)

    def add_file(self, run_id: str, ref: FileRef, reservation: str) -> None:
        def work(session: Session) -> None:
            blobs.release(session, reservation)
            _running(session, run_id)
            existing = session.scalar(
                select(FileRow).where(
                    FileRow.owner_kind == OWNER_RUN,
                    FileRow.owner_id == run_id,
                    FileRow.name == ref.name,
                )
            )
            if existing is not None:
                raise Conflict(f"run {run_id} already has an artifact named {ref.name!r}")
            session.add(
                FileRow(
                    owner_kind=OWNER_RUN,
                    owner_id=run_id,
                    name=ref.name,
                    sha256=ref.sha256,
                    size=ref.size,
                )
            )

        self.db.write(work)

    def end_run(self, run_id: str, status: RunStatus, actor: str, error: str = "") -> None:
        def work(session: Session) -> None:
            row = _running(session, run_id)
            audit.record(session, actor, "run.end", f"run:{run_id}", {"status": status.value})
            row.status = status.value
            row.ended_at = utcnow()
            row.error = error[:4000]

        self.db.write(work)

    def get_run(self, run_id: str) -> Run:
        return self.db.read(lambda session: _to_run(session, _get(session, run_id)))

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        def work(session: Session) -> list[MetricPoint]:
            _get(session, run_id)
            rows = session.scalars(
                select(MetricRow)
                .where(MetricRow.run_id == run_id, MetricRow.key == key)
                .order_by(MetricRow.step, MetricRow.id)
            )
            return [MetricPoint(r.key, r.value, r.step, r.at) for r in rows]

        return self.db.read(work)

    def list_runs(self, experiment: str | None = None, limit: int = 100) -> list[Run]:
        def work(session: Session) -> list[Run]:
            query = select(RunRow).order_by(RunRow.started_at.desc()).limit(limit)
            if experiment is not None:
                check_name(experiment, "experiment name")
                query = query.join(ExperimentRow).where(ExperimentRow.name == experiment)
            return [_to_run(session, r) for r in session.scalars(query).all()]

        return self.db.read(work)

    def find_run(self, prefix: str) -> str:
        """Accept a unique prefix of a run id, as git does for commits."""
        if not prefix or len(prefix) > 32 or any(c not in "0123456789abcdef" for c in prefix):
            raise InvalidInput(f"invalid run id {prefix!r}: hexadecimal, at most 32 characters")

        def work(session: Session) -> str:
            ids = session.scalars(select(RunRow.id).where(RunRow.id.startswith(prefix)).limit(2))
            found = list(ids)
            if not found:
                raise NotFound(f"run {prefix!r} not found")
            if len(found) > 1:
                raise InvalidInput(f"run id prefix {prefix!r} is ambiguous; give more characters")
            return str(found[0])

        return self.db.read(work)


def _get(session: Session, run_id: str) -> RunRow:
    row = session.get(RunRow, run_id)
    if row is None:
        raise NotFound(f"run {run_id!r} not found")
    return row


def _running(session: Session, run_id: str) -> RunRow:
    row = _get(session, run_id)
    if row.status != RunStatus.RUNNING.value:
        raise Conflict(f"run {run_id} is {row.status}; only running runs can be logged to")
    return row


def _to_run(session: Session, row: RunRow) -> Run:
    experiment = (
        session.scalar(select(ExperimentRow.name).where(ExperimentRow.id == row.experiment_id))
        or ""
    )
    params = {
        p.key: p.value for p in session.scalars(select(ParamRow).where(ParamRow.run_id == row.id))
    }
    latest: dict[str, float] = {}
    for metric in session.scalars(
        select(MetricRow).where(MetricRow.run_id == row.id).order_by(MetricRow.step, MetricRow.id)
    ):
        latest[metric.key] = metric.value
    files = session.scalars(
        select(FileRow)
        .where(FileRow.owner_kind == OWNER_RUN, FileRow.owner_id == row.id)
        .order_by(FileRow.name)
    )
    return Run(
        row.id,
        experiment,
        row.name,
        RunStatus(row.status),
        row.started_at,
        row.ended_at,
        params,
        latest,
        tuple(FileRef(f.name, f.sha256, f.size) for f in files),
        dict(row.provenance),
        row.error,
    )
