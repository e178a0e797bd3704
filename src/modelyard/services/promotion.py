"""Promotion: run the gate on a candidate and move the alias only when it passes.

The alias moves with compare-and-set against the champion the gate compared with, so a
promotion racing another alias move fails instead of replacing a version nobody checked;
a caller's ``expect`` (the version it was shown) is checked before the gate and must be
that champion. Refusals are audited (``alias.refused``).
Every run is audited with its whole report (``gate.pass``, ``gate.fail``, ``gate.forced``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from modelyard.domain.entities import AliasEvent, ModelVersion
from modelyard.errors import AliasMoved, InvalidInput, NotFound
from modelyard.runtime.loader import REFERENCE_FILE
from modelyard.store import audit as audit_log
from modelyard.tabular import read_table
from modelyard.validation.gate import GateReport, GateSettings, run_gate

if TYPE_CHECKING:
    from modelyard.services.registry import Registry


@dataclass(frozen=True)
class Promotion:
    report: GateReport
    moved: AliasEvent | None  # None: the gate failed and nothing moved
    forced: bool = False


def promote(
    service: Registry,
    name: str,
    version: int,
    alias: str,
    *,
    holdout: pd.DataFrame | str | Path | None = None,
    label: str | None = None,
    settings: GateSettings | None = None,
    force: bool = False,
    reason: str = "",
    expect: int | None = None,
) -> Promotion:
    """``expect``: the version the caller believes ``alias`` points at (0: unset); a stale
    one is refused (``AliasMoved``, audited) before the gate runs."""
    if force and not reason.strip():
        raise InvalidInput("forcing a promotion past its gate needs a reason")
    store, actor = service.store, service.actor
    if expect is not None:
        store.expect_alias(name, alias, expect, actor, kind="promote", to=version, reason=reason)
    report, champion_version = judge(
        service, name, version, alias, holdout=holdout, label=label, settings=settings
    )
    judged = champion_version.version if champion_version is not None else 0
    if expect is not None and judged != expect:  # moved while the gate was being set up
        store.refuse(
            AliasMoved(name, alias, expect, judged or None), actor, "promote", version, reason
        )
    target = f"{name}@{version}"
    if not report.passed and not force:
        _audit(service, "gate.fail", target, report, reason)
        return Promotion(report, None)
    action = "gate.pass" if report.passed else "gate.forced"
    note = reason or f"promotion gate passed ({len(report.checks)} checks)"
    # Compare-and-set against the champion the gate judged: a move since then is refused.
    moved = store.set_alias(name, alias, version, actor, note, expect=judged, kind="promote")
    _audit(service, action, target, report, reason)
    return Promotion(report, moved, forced=not report.passed)


def judge(
    service: Registry,
    name: str,
    version: int,
    alias: str,
    *,
    holdout: pd.DataFrame | str | Path | None = None,
    label: str | None = None,
    settings: GateSettings | None = None,
) -> tuple[GateReport, ModelVersion | None]:
    """The gate's report on ``name@version`` against the version ``alias`` points at now
    (returned too, for the compare-and-set), without moving anything."""
    candidate_version = service.get_version(name, version)
    try:
        champion_version: ModelVersion | None = service.get_version(f"{name}@{alias}")
    except NotFound:
        champion_version = None
    frame = read_table(Path(holdout)) if isinstance(holdout, str | Path) else holdout
    candidate = service.load(candidate_version.ref)
    champion = None
    if champion_version is not None and champion_version.version != version:
        champion = service.load(champion_version.ref)
    report = run_gate(
        candidate,
        champion,
        alias,
        _reference_sample(service, candidate_version) if frame is None else frame,
        holdout=frame,
        label=label,
        settings=settings,
    )
    return report, champion_version


def _reference_sample(service: Registry, version: ModelVersion) -> pd.DataFrame:
    try:
        stored = version.file(REFERENCE_FILE)
    except KeyError:
        raise InvalidInput(
            f"{version.ref} was registered without sample rows: give a holdout file"
        ) from None
    data = service.artifacts.get_bytes(stored.sha256, f"{version.ref} file {REFERENCE_FILE!r}")
    return pd.read_parquet(io.BytesIO(data))


def _audit(service: Registry, action: str, target: str, report: GateReport, reason: str) -> None:
    details = {**report.to_json(), "reason": reason}
    service.db.write(
        lambda session: audit_log.record(session, service.actor, action, target, details)
    )
