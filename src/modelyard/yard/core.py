"""``Yard``: the public Python API, a facade over the services that do the work.

Each method is a service's method (``yard.register`` is ``yard.registry.register``). Nothing
inside modelyard takes a ``Yard``: the server and the controller keep the services they use,
built in ``modelyard.services.compose``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from modelyard.config import Settings, load_settings
from modelyard.domain.values import check_text
from modelyard.services.admin import Admin
from modelyard.services.compose import MAX_ACTOR, Services, build_services
from modelyard.services.experiments import Experiments
from modelyard.services.monitor import Monitor
from modelyard.services.registry import Registry
from modelyard.services.stores import Stores, open_stores
from modelyard.services.tracking import Tracking
from modelyard.services.traffic import Traffic
from modelyard.yard.delegate import delegate


class Yard:
    """Models, versions, aliases, runs, datasets, endpoints and their monitoring, over one
    database and one artifact store."""

    def __init__(
        self,
        home: str | Path | None = None,
        *,
        db_url: str | None = None,
        artifacts: str | None = None,
        actor: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        if settings is None:
            settings = load_settings()
        overrides: dict[str, Any] = {}
        if home is not None:
            overrides["home"] = Path(home)
        if db_url is not None:
            overrides["db_url"] = db_url
        if artifacts is not None:
            overrides["artifacts"] = artifacts
        if actor is not None:
            overrides["actor"] = actor
        check_text(overrides.get("actor", settings.actor), "actor", MAX_ACTOR)
        self.settings = settings.model_copy(update=overrides)
        self.stores: Stores = open_stores(self.settings)
        self._use(build_services(self.stores, self.settings, self.settings.actor))

    def _use(self, services: Services) -> None:
        """Keep ``services`` (built in ``modelyard.services.compose``) and name each one."""
        self.services = services
        self.actor = services.actor
        self.registry = services.registry
        self.tracking = services.tracking
        self.traffic = services.traffic
        self.experiments = services.experiments
        self.monitor = services.monitor
        self.admin = services.admin

    def acting_as(self, actor: str) -> Yard:
        """The same yard (stores, connections) recording ``actor`` on what it changes."""
        other = copy.copy(self)
        other._use(self.services.acting_as(actor))
        return other

    def close(self) -> None:
        self.stores.db.dispose()

    def __enter__(self) -> Yard:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Yard(db={self.stores.db.safe_url!r}, artifacts={self.stores.artifacts.url!r})"

    # -- the registry: versions, aliases, promotion, lineage -----------------------------
    register = delegate("registry", Registry.register)
    register_file = delegate("registry", Registry.register_file)
    import_mlflow = delegate("registry", Registry.import_mlflow)
    get_version = delegate("registry", Registry.get_version)
    resolve_many = delegate("registry", Registry.resolve_many)
    load = delegate("registry", Registry.load)
    list_models = delegate("registry", Registry.list_models)
    count_models = delegate("registry", Registry.count_models)
    get_model = delegate("registry", Registry.get_model)
    list_versions = delegate("registry", Registry.list_versions)
    profile = delegate("registry", Registry.profile)
    set_profile = delegate("registry", Registry.set_profile)
    lineage = delegate("registry", Registry.lineage)
    set_alias = delegate("registry", Registry.set_alias)
    promote = delegate("registry", Registry.promote)
    check_promotion = delegate("registry", Registry.check_promotion)
    rollback = delegate("registry", Registry.rollback)
    delete_alias = delegate("registry", Registry.delete_alias)
    alias_history = delegate("registry", Registry.alias_history)
    archive = delegate("registry", Registry.archive)
    unarchive = delegate("registry", Registry.unarchive)
    delete_version = delegate("registry", Registry.delete_version)

    # -- tracking: runs and datasets ------------------------------------------------------
    start_run = delegate("tracking", Tracking.start_run)
    get_run = delegate("tracking", Tracking.get_run)
    list_runs = delegate("tracking", Tracking.list_runs)
    add_dataset = delegate("tracking", Tracking.add_dataset)
    get_dataset = delegate("tracking", Tracking.get_dataset)
    list_datasets = delegate("tracking", Tracking.list_datasets)
    export_dataset = delegate("tracking", Tracking.export_dataset)

    # -- traffic: endpoints, routes, rollouts, policies, A/B tests -------------------------
    create_endpoint = delegate("traffic", Traffic.create_endpoint)
    get_endpoint = delegate("traffic", Traffic.get_endpoint)
    list_endpoints = delegate("traffic", Traffic.list_endpoints)
    delete_endpoint = delegate("traffic", Traffic.delete_endpoint)
    set_routes = delegate("traffic", Traffic.set_routes)
    configure_monitoring = delegate("traffic", Traffic.configure_monitoring)
    start_rollout = delegate("traffic", Traffic.start_rollout)
    active_rollout = delegate("traffic", Traffic.active_rollout)
    rollout_status = delegate("traffic", Traffic.rollout_status)
    pause_rollout = delegate("traffic", Traffic.pause_rollout)
    resume_rollout = delegate("traffic", Traffic.resume_rollout)
    abort_rollout = delegate("traffic", Traffic.abort_rollout)
    rollout_history = delegate("traffic", Traffic.rollout_history)
    add_policy = delegate("traffic", Traffic.add_policy)
    list_policies = delegate("traffic", Traffic.list_policies)
    remove_policy = delegate("traffic", Traffic.remove_policy)
    policy_history = delegate("traffic", Traffic.policy_history)
    record_event = delegate("traffic", Traffic.record_event)
    start_abtest = delegate("experiments", Experiments.start_abtest)
    abtest_report = delegate("experiments", Experiments.abtest_report)
    stop_abtest = delegate("experiments", Experiments.stop_abtest)

    # -- monitoring records ---------------------------------------------------------------
    monitor_profile = delegate("monitor", Monitor.monitor_profile)
    log_predictions = delegate("monitor", Monitor.log_predictions)
    save_windows = delegate("monitor", Monitor.save_windows)
    add_feedback = delegate("monitor", Monitor.add_feedback)
    prune_monitoring = delegate("monitor", Monitor.prune_monitoring)
    compact_monitoring = delegate("monitor", Monitor.compact_monitoring)
    report_serving = delegate("monitor", Monitor.report_serving)
    serving_status = delegate("monitor", Monitor.serving_status)

    # -- administration: keys, storage, backups, the audit log ----------------------------
    create_key = delegate("admin", Admin.create_key)
    list_keys = delegate("admin", Admin.list_keys)
    revoke_key = delegate("admin", Admin.revoke_key)
    gc = delegate("admin", Admin.gc)
    backup = delegate("admin", Admin.backup)
    restore = delegate("admin", Admin.restore)
    audit = delegate("admin", Admin.audit)
    revision = delegate("admin", Admin.revision)


__all__ = ["Yard"]
