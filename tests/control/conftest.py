"""A yard with an endpoint to roll out on: churn@1 (logistic regression) in production
behind ``churn-api``, churn@2 (a random forest) registered beside it."""

from __future__ import annotations

import pytest

from modelyard import Yard


def add_churn_api(yard: Yard, logreg, forest, cancer) -> Yard:
    X, _ = cancer
    yard.register(logreg, "churn", sample=X)
    yard.register(forest, "churn", sample=X)
    yard.set_alias("churn", "production", 1)
    yard.create_endpoint("churn-api", "churn@production")
    return yard


@pytest.fixture
def churn(yard: Yard, logreg, forest, cancer) -> Yard:
    return add_churn_api(yard, logreg, forest, cancer)


@pytest.fixture
def sqlite_churn(sqlite_yard: Yard, logreg, forest, cancer) -> Yard:
    return add_churn_api(sqlite_yard, logreg, forest, cancer)
