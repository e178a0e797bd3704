"""One composition: the services over a yard's stores, and a controller built from three
of them, with no ``Yard`` anywhere below the command line."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

import modelyard
from modelyard.config import Settings
from modelyard.errors import InvalidInput
from modelyard.services.compose import build_controller, open_services

PACKAGE = Path(modelyard.__file__).parent


def test_a_controller_built_from_the_services_acts_as_their_actor(
    tmp_path: Path, logreg, forest, cancer
) -> None:
    services = open_services(Settings(home=tmp_path / "home"), actor="tester")
    try:
        X, _ = cancer
        services.registry.register(logreg, "churn", sample=X)
        services.registry.register(forest, "churn", sample=X)
        services.registry.set_alias("churn", "production", 1)
        services.traffic.create_endpoint("churn-api", "churn@production")
        rollout = services.traffic.start_rollout("churn-api", "churn@2", steps="10,100")
        endpoint = services.traffic.get_endpoint("churn-api")
        # Routes a crash left wrong: the controller's next tick sets them again.
        services.stores.endpoints.update(
            replace(endpoint, routes=rollout.plan.original_routes), "someone"
        )
        controller = build_controller(services.acting_as("controller@test"), interval=1)
        try:
            assert controller.tick()
        finally:
            controller.stop()
        routes = services.traffic.get_endpoint("churn-api").routes
        assert [r.weight for r in routes] == [90.0, 10.0]
        latest = services.admin.audit(target="endpoint:churn-api", limit=1)[0]
        assert latest.actor == "controller@test"
    finally:
        services.close()


def test_an_actor_too_long_is_refused_before_the_database_opens(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with pytest.raises(InvalidInput, match="actor"):
        open_services(Settings(home=home), actor="x" * 200)
    assert not (home / "yard.db").exists()


@pytest.mark.parametrize("package", ["control", "serving", "runtime", "monitoring", "batch"])
def test_below_the_command_line_nothing_names_the_yard_facade(package: str) -> None:
    """Not even for type checking (which the import contract leaves out): these layers
    take the services they use, or Protocols the services satisfy."""
    for path in sorted((PACKAGE / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = {node.module or ""} | {
                    f"{node.module}.{a.name}" for a in node.names if node.module == "modelyard"
                }
                assert not any(
                    n.startswith("modelyard.yard") or n == "modelyard.Yard" for n in names
                ), f"{path.relative_to(PACKAGE)} imports the Yard facade"
