from threadpoolctl import threadpool_info

from modelyard import Yard
from modelyard.runtime.runner import ModelRunner


def test_the_model_thread_runs_with_the_configured_native_threads(
    sqlite_yard: Yard, logreg, cancer
) -> None:
    sqlite_yard.register(logreg, "churn", sample=cancer[0])
    runner = ModelRunner(sqlite_yard.load("churn@1"), native_threads=1)
    try:
        sizes = runner.executor.submit(
            lambda: {i["internal_api"]: i["num_threads"] for i in threadpool_info()}
        ).result()
    finally:
        runner.close()
    assert sizes
    assert set(sizes.values()) == {1}
