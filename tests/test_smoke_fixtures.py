from modelyard import Yard


def test_register_and_load_round_trip(yard: Yard, logreg, cancer) -> None:
    X, _ = cancer
    version = yard.register(logreg, "churn", sample=X)
    assert version.version == 1
    predictor = yard.load("churn@1")
    assert (predictor.predict(X.iloc[:5]) == logreg.predict(X.iloc[:5])).all()
