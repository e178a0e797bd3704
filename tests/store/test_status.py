"""What replicas report serving, and the version that last loaded per endpoint."""

from __future__ import annotations

from modelyard import Yard


def test_the_last_loaded_version_is_one_row_per_endpoint_the_latest_wins(yard: Yard) -> None:
    assert yard.stores.status.last_loaded("churn-api") is None
    yard.stores.status.record_loaded("churn-api", "churn@1", "host:1")
    yard.stores.status.record_loaded("churn-api", "churn@2", "host:2")
    yard.stores.status.record_loaded("fraud-api", "fraud@7", "host:1")
    assert yard.stores.status.last_loaded("churn-api") == "churn@2"
    assert yard.stores.status.last_loaded("fraud-api") == "fraud@7"


def test_deleting_an_endpoint_forgets_what_last_served_it(yard: Yard, logreg, cancer) -> None:
    yard.register(logreg, "churn", sample=cancer[0])
    yard.create_endpoint("churn-api", "churn@1")
    yard.stores.status.record_loaded("churn-api", "churn@1", "host:1")
    yard.delete_endpoint("churn-api")
    # A new endpoint of the same name must not fall back to another model's version.
    assert yard.stores.status.last_loaded("churn-api") is None
