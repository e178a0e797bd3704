"""A restore leaves out what would act for the archive's author — keys, commands, webhooks —
unless a flag brings it in, and lists and audits what it left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard import InvalidInput, UntrustedContent, Yard
from tests.store.hostile_archives import rewrite, rows_of, versions_meta

HOOK = "https://hooks.example/ops"


@pytest.fixture
def archive(yard: Yard, logreg, cancer, tmp_path: Path) -> Path:
    """Everything that acts by itself: keys (one revoked), policies of each kind, a rollout
    in progress that calls a webhook when it ends."""
    X = cancer[0]
    yard.register(logreg, "churn", sample=X)
    yard.register(logreg, "churn", sample=X)
    yard.set_alias("churn", "production", 1)
    yard.create_endpoint("churn-api", "churn@production")
    yard.add_policy("churn-api", "error_rate>0.5", ["run:python retrain.py"])  # 1
    yard.add_policy("churn-api", "error_rate>0.5", [f"alert:{HOOK}"])  # 2
    yard.add_policy("churn-api", "error_rate>0.5", ["rollback"])  # 3
    yard.add_policy("churn-api", "error_rate>0.5", ["run:true", f"alert:{HOOK}"])  # 4
    yard.start_rollout("churn-api", "churn@2", alert=HOOK)
    secret = yard.create_key(["admin"], description="ops")[1]
    yard.create_key(["predict"], endpoint="churn-api")
    revoked, _ = yard.create_key(["read"])
    yard.revoke_key(revoked.id)
    archive = tmp_path / "backup.tar.gz"
    yard.backup(archive)
    (tmp_path / "secret").write_text(secret)
    return archive


def _secret(archive: Path) -> str:
    return (archive.parent / "secret").read_text()


def test_without_flags_keys_commands_and_webhooks_are_left_out_and_listed(
    archive: Path, tmp_path: Path
) -> None:
    with Yard(tmp_path / "target", actor="restorer") as target:
        report = target.restore(archive)
        left = {(i.table, i.row.split(" on ")[0], i.flag) for i in report.left_out}
        assert {(t, r, f) for t, r, f in left if t == "policies"} == {
            ("policies", "policy 1", "--trust-commands"),
            ("policies", "policy 2", "--trust-webhooks"),
            ("policies", "policy 4", "--trust-commands --trust-webhooks"),
        }
        assert [p.id for p in target.list_policies()] == [3]
        assert (
            sorted(f for t, _, f in left if t == "api_keys")
            == ["--trust-keys or --reissue-keys"] * 2
        )
        assert [k.revoked_at is not None for k in target.list_keys()] == [True]
        assert target.stores.keys.authenticate(_secret(archive)) is None
        assert ("rollouts", "rollout 1", "--trust-webhooks") in left
        assert target.active_rollout("churn-api").plan.alert is None  # type: ignore[union-attr]
        assert report.brought_in == ()


def test_what_is_left_out_stays_in_the_audit_log_and_the_policy_history(
    archive: Path, tmp_path: Path
) -> None:
    with Yard(tmp_path / "target", actor="restorer") as target:
        target.restore(archive)
        history = target.policy_history("churn-api")
        assert [(e.action, e.details["policy"]) for e in history[:3]] == [
            ("policy.left_out", 4),
            ("policy.left_out", 2),
            ("policy.left_out", 1),
        ]
        assert history[2].details["then"] == ["run:python retrain.py"]
        assert history[2].actor == "restorer"
        (dropped,) = target.audit(action="rollout.alert_left_out")
        assert dropped.details["alert"] == HOOK
        assert len(target.audit(action="key.left_out")) == 2
        (restore,) = target.audit(action="restore")
        assert len(restore.details["left_out"]) == 6
        assert restore.details["flags"] == []


def test_flags_bring_each_kind_in_and_the_audit_log_names_them(
    archive: Path, tmp_path: Path
) -> None:
    with Yard(tmp_path / "target") as target:
        report = target.restore(archive, trust_keys=True, trust_commands=True, trust_webhooks=True)
        assert report.left_out == ()
        assert [p.id for p in target.list_policies()] == [1, 2, 3, 4]
        assert target.active_rollout("churn-api").plan.alert == HOOK  # type: ignore[union-attr]
        key = target.stores.keys.authenticate(_secret(archive))
        assert key is not None
        assert key.scopes == ("admin",)
        (restore,) = target.audit(action="restore")
        assert restore.details["flags"] == ["--trust-keys", "--trust-commands", "--trust-webhooks"]
        assert {i["flag"] for i in restore.details["brought_in"]} == {
            "--trust-keys",
            "--trust-commands",
            "--trust-webhooks",
            "--trust-commands --trust-webhooks",
        }


def test_reissued_keys_keep_their_id_and_scopes_with_new_secrets(
    archive: Path, tmp_path: Path
) -> None:
    with Yard(tmp_path / "target") as target:
        report = target.restore(archive, reissue_keys=True)
        assert sorted(k.scopes for k in report.reissued) == [("admin",), ("predict",)]
        assert target.stores.keys.authenticate(_secret(archive)) is None
        for reissued in report.reissued:
            key = target.stores.keys.authenticate(reissued.secret)
            assert key is not None
            assert (key.id, key.scopes, key.endpoint) == (
                reissued.id,
                reissued.scopes,
                reissued.endpoint,
            )
        events = target.audit(action="key.reissue")
        assert sorted(e.target for e in events) == sorted(f"key:{k.id}" for k in report.reissued)
        assert all("secret" not in str(e.details) for e in events)


def test_trusting_and_reissuing_keys_at_once_is_refused(archive: Path, tmp_path: Path) -> None:
    with Yard(tmp_path / "target") as target:
        with pytest.raises(InvalidInput, match="--trust-keys or --reissue-keys, not both"):
            target.restore(archive, trust_keys=True, reissue_keys=True)
        assert target.audit() == []


def test_a_refused_restore_writes_nothing_at_all(archive: Path, tmp_path: Path) -> None:
    hostile = rewrite(
        archive,
        tmp_path / "h.tar.gz",
        versions_meta(lambda meta: meta.update(trusted_types=["builtins.eval"])),
    )
    with Yard(tmp_path / "target") as target:
        with pytest.raises(UntrustedContent, match=r"churn@1: .*builtins\.eval"):
            target.restore(hostile, trust_keys=True, trust_commands=True)
        assert target.audit() == []
        assert target.list_keys() == []
        assert target.list_models() == []


def test_trusted_types_are_recorded_as_vouched_for_by_the_restore(
    archive: Path, tmp_path: Path
) -> None:
    hostile = rewrite(
        archive,
        tmp_path / "h.tar.gz",
        versions_meta(lambda meta: meta.update(trusted_types=["mypackage.Scaler"])),
    )
    with Yard(tmp_path / "target") as target:
        report = target.restore(hostile, trust_types=True)
        assert {(i.row, i.flag) for i in report.brought_in} == {
            ("churn@1", "--trust-types"),
            ("churn@2", "--trust-types"),
        }
        assert target.get_version("churn@1").flavor_meta["trusted_by_flag"] == ["mypackage.Scaler"]


def test_a_live_key_without_scopes_is_refused_naming_it(archive: Path, tmp_path: Path) -> None:
    hostile = rewrite(archive, tmp_path / "h.tar.gz", rows_of("api_keys", _unscoped))
    with Yard(tmp_path / "target") as target:
        with pytest.raises(InvalidInput, match=r"h\.tar\.gz: key [0-9a-f]+: a key needs"):
            target.restore(hostile, trust_keys=True)
        assert target.list_keys() == []


def _unscoped(row: dict[str, object]) -> None:
    if row["revoked_at"] is None:
        row["scopes"] = []


def test_a_policy_stored_before_todays_webhook_rules_is_left_out_not_fatal(
    archive: Path, tmp_path: Path
) -> None:
    """An alert URL with ``user:pw@`` was accepted before the webhook rules: the archive
    still restores, and that policy stays out whatever the flags."""

    def old_alert(row: dict[str, object]) -> None:
        if row["id"] == 2:
            row["spec"] = {**row["spec"], "then": ["alert:https://ops:secret@hooks.example/"]}  # type: ignore[dict-item]

    old = rewrite(archive, tmp_path / "old.tar.gz", rows_of("policies", old_alert))
    with Yard(tmp_path / "target", actor="restorer") as target:
        report = target.restore(old, trust_webhooks=True, trust_commands=True)
        left = {(i.row.split(" on ")[0], i.flag) for i in report.left_out}
        assert ("policy 2", "none: its webhook breaks today's rules") in left
        assert sorted(p.id for p in target.list_policies()) == [1, 3, 4]
