"""Restoring a backup: an archive is outside data, so what would act by itself needs a flag.

Rows that would act in the restored yard for whoever wrote the archive:

- model versions that need types beyond the skops allow-list, or are pickles, run code when
  loaded: refused unless ``--trust-types`` / ``--trust-pickle`` (a version cannot be left
  out: aliases, endpoints, rollouts and predictions name it);
- API keys not revoked would let the archive's author in: left out unless ``--trust-keys``,
  or re-issued with new secrets (same id, scopes, endpoint) by ``--reissue-keys``;
- policies with ``run:`` or ``alert:`` actions make the controller run commands and send
  requests: left out unless ``--trust-commands`` / ``--trust-webhooks``;
- rollouts in progress with an alert URL call it when they end: the URL is left out unless
  ``--trust-webhooks`` (the rollout itself only moves this yard's own traffic and aliases).

Everything else is the yard's own record and comes in as it was (the reasoning per table is
in docs/decisions.md). What is left out is listed in the report and written to the audit
log with its content, in the restore's one transaction: nothing stored is lost silently,
and a restored policy's history ends with the event that left it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from modelyard.domain.keys import check_scopes
from modelyard.domain.policies import Action, parse_action
from modelyard.domain.rollouts import ACTIVE
from modelyard.errors import InvalidInput, UnsupportedModel, UntrustedContent
from modelyard.flavors import get_flavor
from modelyard.store import audit as audit_log
from modelyard.store.backup import Progress, Rows, Screened, restore_backup
from modelyard.store.keys import mint_secret, secret_digest

if TYPE_CHECKING:
    from modelyard.store.artifacts import ArtifactStore
    from modelyard.store.db import Database


@dataclass(frozen=True)
class RestoreFlags:
    """What the person restoring trusts the archive with; each field is a CLI flag."""

    trust_types: bool = False
    trust_pickle: bool = False
    trust_keys: bool = False
    reissue_keys: bool = False
    trust_commands: bool = False
    trust_webhooks: bool = False

    def __post_init__(self) -> None:
        if self.trust_keys and self.reissue_keys:
            raise InvalidInput("choose --trust-keys or --reissue-keys, not both")

    def given(self) -> list[str]:
        return [f"--{f.name.replace('_', '-')}" for f in fields(self) if getattr(self, f.name)]


@dataclass(frozen=True)
class Item:
    """A row the restore left out, or brought in only because a flag said so."""

    table: str
    row: str  # "policy 3 on churn-api"
    what: str  # "run:python retrain.py"
    flag: str  # what brings it in: "--trust-commands"

    def to_json(self) -> dict[str, str]:
        return {"table": self.table, "row": self.row, "what": self.what, "flag": self.flag}


@dataclass(frozen=True)
class ReissuedKey:
    """A restored key with a new secret, shown once; the archive's secret is not valid."""

    id: str
    scopes: tuple[str, ...]
    endpoint: str | None
    description: str
    secret: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scopes": list(self.scopes),
            "endpoint": self.endpoint,
            "description": self.description,
            "secret": self.secret,
        }


@dataclass(frozen=True)
class RestoreReport:
    path: Path
    rows: dict[str, int]
    blobs: int
    bytes: int
    flags: tuple[str, ...] = ()
    brought_in: tuple[Item, ...] = ()  # by a flag
    left_out: tuple[Item, ...] = ()
    reissued: tuple[ReissuedKey, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "rows": self.rows,
            "blobs": self.blobs,
            "bytes": self.bytes,
            "flags": list(self.flags),
            "brought_in": [i.to_json() for i in self.brought_in],
            "left_out": [i.to_json() for i in self.left_out],
            "reissued_keys": [k.to_json() for k in self.reissued],
        }


def restore_yard(
    db: Database,
    artifacts: ArtifactStore,
    actor: str,
    path: Path,
    flags: RestoreFlags,
    progress: Progress | None,
) -> RestoreReport:
    screen = _Screen(flags, actor, path.name)
    report = restore_backup(db, artifacts, path, screen, progress)
    return RestoreReport(
        report.path,
        report.rows,
        report.blobs,
        report.bytes,
        tuple(flags.given()),
        tuple(screen.brought_in),
        tuple(screen.left_out),
        tuple(screen.reissued),
    )


@dataclass
class _Screen:
    flags: RestoreFlags
    actor: str
    source: str
    brought_in: list[Item] = field(default_factory=list)
    left_out: list[Item] = field(default_factory=list)
    reissued: list[ReissuedKey] = field(default_factory=list)
    _events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, rows: Rows) -> Screened:
        names = {r.get("id"): r.get("name") for r in rows["models"]}
        kept = dict(rows)
        kept["model_versions"] = [self._version(r, names) for r in rows["model_versions"]]
        kept["api_keys"] = [k for r in rows["api_keys"] if (k := self._key(r)) is not None]
        kept["policies"] = [r for r in rows["policies"] if self._keeps_policy(r)]
        kept["rollouts"] = [self._rollout(r) for r in rows["rollouts"]]
        counts = {name: len(table_rows) for name, table_rows in kept.items()}
        return Screened(kept, lambda session: self._record(session, counts))

    def _record(self, session: Session, counts: dict[str, int]) -> None:
        for action, target, details in self._events:
            audit_log.record(session, self.actor, action, target, details)
        summary = {
            "source": self.source,
            "rows": counts,
            "trusted_types": self.flags.trust_types,
            "trusted_pickle": self.flags.trust_pickle,
            "flags": self.flags.given(),
            "brought_in": [i.to_json() for i in self.brought_in],
            "left_out": [i.to_json() for i in self.left_out],
            "reissued_keys": [k.id for k in self.reissued],
        }
        audit_log.record(session, self.actor, "restore", "yard", summary)

    # -- model versions: refused, not left out ----------------------------------------------

    def _version(self, row: dict[str, Any], names: Mapping[object, object]) -> dict[str, Any]:
        ref = f"{names.get(row.get('model_id'), '?')}@{row.get('version')}"
        meta = row.get("flavor_meta")
        if not isinstance(meta, dict):
            raise InvalidInput(f"{self.source}: version {ref} has no flavor metadata")
        try:
            vetted = get_flavor(str(row.get("flavor"))).check_trust(
                meta, trust_types=self.flags.trust_types, trust_pickle=self.flags.trust_pickle
            )
        except (UntrustedContent, UnsupportedModel) as exc:
            raise type(exc)(f"{self.source}: {ref}: {exc}") from None
        if vetted.trusted_by_flag:
            types = ", ".join(vetted.trusted_by_flag)
            self.brought_in.append(Item("model_versions", ref, f"trusts {types}", "--trust-types"))
        if meta.get("format") == "pickle":
            self.brought_in.append(Item("model_versions", ref, "a pickle", "--trust-pickle"))
        return {**row, "flavor_meta": vetted.meta}

    # -- API keys ---------------------------------------------------------------------------

    def _key(self, row: dict[str, Any]) -> dict[str, Any] | None:
        if row.get("revoked_at") is not None:
            return row  # grants nothing; kept so the key list and its history stay whole
        key_id = str(row["id"])
        try:
            scopes = check_scopes(row.get("scopes") or [])
        except InvalidInput as exc:
            raise InvalidInput(f"{self.source}: key {key_id}: {exc}") from None
        endpoint = row.get("endpoint")
        what = f"scopes {','.join(scopes)}" + (f" on {endpoint}" if endpoint else "")
        if self.flags.trust_keys:
            self.brought_in.append(Item("api_keys", f"key {key_id}", what, "--trust-keys"))
            return row
        described = {
            "scopes": list(scopes),
            "endpoint": endpoint,
            "description": row.get("description", ""),
            "created_by": row.get("created_by"),
            "source": self.source,
        }
        if self.flags.reissue_keys:
            secret = mint_secret(key_id)
            self.reissued.append(
                ReissuedKey(key_id, scopes, endpoint, str(row.get("description", "")), secret)
            )
            self.brought_in.append(
                Item("api_keys", f"key {key_id}", f"{what}, new secret", "--reissue-keys")
            )
            self._events.append(("key.reissue", f"key:{key_id}", described))
            return {**row, "secret_sha256": secret_digest(secret)}
        flag = "--trust-keys or --reissue-keys"
        self.left_out.append(Item("api_keys", f"key {key_id}", what, flag))
        self._events.append(("key.left_out", f"key:{key_id}", {**described, "flag": flag}))
        return None

    # -- policies ---------------------------------------------------------------------------

    def _keeps_policy(self, row: dict[str, Any]) -> bool:
        label = f"policy {row.get('id')} on {row.get('endpoint')}"
        spec = row.get("spec")
        then = spec.get("then") if isinstance(spec, dict) else None
        if not isinstance(spec, dict) or not isinstance(then, list):
            raise InvalidInput(f"{self.source}: {label} has no actions")
        broken: list[str] = []
        try:
            actions = [_restored_action(text, broken) for text in then]
        except InvalidInput as exc:
            raise InvalidInput(f"{self.source}: {label}: {exc}") from None
        outside = [a.text for a in actions if a.kind in ("run", "alert")]
        if not outside:
            return True  # rollback and shift act on this yard's own traffic only
        if broken:  # stored before today's webhook rules; no flag makes it safe
            return self._leave_out_policy(
                row, label, "; ".join(broken), "none: its webhook breaks today's rules"
            )
        missing = []
        if any(a.kind == "run" for a in actions) and not self.flags.trust_commands:
            missing.append("--trust-commands")
        if any(a.kind == "alert" for a in actions) and not self.flags.trust_webhooks:
            missing.append("--trust-webhooks")
        what = "; ".join(outside)
        if not missing:
            needed = [
                flag
                for flag, kind in (("--trust-commands", "run"), ("--trust-webhooks", "alert"))
                if any(a.kind == kind for a in actions)
            ]
            self.brought_in.append(Item("policies", label, what, " ".join(needed)))
            return True
        return self._leave_out_policy(row, label, what, " ".join(missing))

    def _leave_out_policy(self, row: dict[str, Any], label: str, what: str, flag: str) -> bool:
        self.left_out.append(Item("policies", label, what, flag))
        self._events.append(
            (
                "policy.left_out",
                f"endpoint:{row.get('endpoint')}",
                {
                    "policy": row.get("id"),
                    **row["spec"],
                    "flag": flag,
                    "reason": f"left out by the restore of {self.source}: needs {flag}",
                },
            )
        )
        return False

    # -- rollouts ---------------------------------------------------------------------------

    def _rollout(self, row: dict[str, Any]) -> dict[str, Any]:
        spec = row.get("spec")
        alert = spec.get("alert") if isinstance(spec, dict) else None
        if not isinstance(spec, dict) or alert is None or row.get("state") not in ACTIVE:
            return row  # a finished rollout never calls its webhook again
        label = f"rollout {row.get('id')} on {row.get('endpoint')}"
        item = Item("rollouts", label, f"alert {alert}", "--trust-webhooks")
        if self.flags.trust_webhooks:
            self.brought_in.append(item)
            return row
        self.left_out.append(item)
        self._events.append(
            (
                "rollout.alert_left_out",
                f"endpoint:{row.get('endpoint')}",
                {
                    "rollout": row.get("id"),
                    "alert": alert,
                    "flag": "--trust-webhooks",
                    "message": f"alert webhook left out by the restore of {self.source}",
                },
            )
        )
        return {**row, "spec": {**spec, "alert": None}}


def _restored_action(text: object, broken: list[str]) -> Action:
    """A stored action, read by its kind as stored policies are: an alert whose URL fails
    today's rules (stored before them) is noted in ``broken``, not an error, so one old
    row does not refuse the whole restore."""
    if isinstance(text, str) and text.partition(":")[0].strip() == "alert":
        try:
            return parse_action(text)
        except InvalidInput as exc:
            broken.append(str(exc))
            return Action("alert", text.partition(":")[2].strip())
    return parse_action(text)  # type: ignore[arg-type]
