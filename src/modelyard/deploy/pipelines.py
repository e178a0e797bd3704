"""CI pipelines for a team's model repository: GitHub Actions and GitLab CI.

Both run the same gates in the same order, with modelyard's real commands: install, train
(the team's own command), the drift gate, register, the promotion gate (``promote
--check``: the rollout moves the alias when it finishes), a load-test gate against a
``modelyard serve`` started on the runner, and a canary rollout. Secrets (the database URL,
the artifact store and its credentials) are references to the CI system's secret store,
never values in the file: GitHub's ``${{ secrets.X }}``, GitLab's project CI/CD variables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from modelyard.domain.monitoring import parse_period
from modelyard.domain.names import check_name
from modelyard.errors import InvalidInput

PROVIDERS = ("github", "gitlab")
GITHUB_PATH = ".github/workflows/modelyard.yml"
GITLAB_PATH = ".gitlab-ci.yml"
# What the pipelines read from the CI system's secret store, by the name modelyard reads.
SECRETS = (
    "MODELYARD_DB_URL",
    "MODELYARD_ARTIFACTS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)
LOADTEST_PORT = 8000
# Written into YAML and shell unquoted: plain names only.
_BRANCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}")
_VERSION = re.compile(r"3\.[0-9]{1,2}")
SERVER_READY_SECONDS = 120


@dataclass(frozen=True)
class Pipeline:
    """What the pipelines are about; every other path is a variable at the top of the file."""

    model: str
    endpoint: str
    train: str = "python train.py --out build"
    python: str = "3.11"
    install: str = "python -m pip install 'modelyard[postgres,s3,loadtest]'"
    users: int = 16
    duration: str = "30s"
    p95_ms: float = 50.0
    max_error_rate: float = 0.001
    steps: str = "5,25,50,100"
    interval: str = "10m"
    branch: str = "main"

    def __post_init__(self) -> None:
        check_name(self.model, "model name")
        check_name(self.endpoint, "endpoint name")
        for what, value in (("--train", self.train), ("--install", self.install)):
            if not value.strip() or "\n" in value:
                raise InvalidInput(f"{what} must be one non-empty command line")
        for what, period in (("--duration", self.duration), ("--interval", self.interval)):
            try:
                parse_period(period)
            except InvalidInput as exc:
                raise InvalidInput(f"{what}: {exc}") from None
        if not 1 <= self.users <= 10_000:
            raise InvalidInput(f"--users {self.users}: must be from 1 to 10000")
        if not self.p95_ms > 0 or not 0 <= self.max_error_rate <= 1:
            raise InvalidInput("--p95-ms must be above 0 and --max-error-rate from 0 to 1")
        if not _BRANCH.fullmatch(self.branch) or not _VERSION.fullmatch(self.python):
            raise InvalidInput(f"--branch {self.branch!r} or --python {self.python!r}: not a name")

    def variables(self) -> dict[str, str]:
        """The pipeline's settings, at the top of each file for the team to edit."""
        return {
            "MODEL_NAME": self.model,
            "ENDPOINT": self.endpoint,
            "MODEL_FILE": "build/model.skops",
            "SAMPLE_FILE": "build/train.parquet",
            "HOLDOUT_FILE": "build/holdout.parquet",
            "LABEL": "label",
            "DRIFT_REFERENCE": "build/train.parquet",
            "DRIFT_CURRENT": "build/today.parquet",
            "LOADTEST_PORT": str(LOADTEST_PORT),
        }


# Each gate as the shell lines both systems run; $RUN_ID is the CI system's run number.
def _train(spec: Pipeline) -> str:
    return f"mkdir -p build\n{spec.train}\n"


DRIFT = 'modelyard drift --reference "$DRIFT_REFERENCE" --current "$DRIFT_CURRENT"\n'
REGISTER = (
    'modelyard register "$MODEL_FILE" --name "$MODEL_NAME" --sample "$SAMPLE_FILE" --json'
    " > build/registered.json\n"
)
VERSION_OF = (
    "python -c \"import json; print('MODEL_VERSION=%d' % "
    "json.load(open('build/registered.json'))['version'])\""
)
PROMOTION = (
    'modelyard promote "$MODEL_NAME" "$MODEL_VERSION" --to production'
    ' --holdout "$HOLDOUT_FILE" --label "$LABEL" --check\n'
)
WAIT_READY = (
    'python -c "import sys, time, httpx\n'
    "url = 'http://127.0.0.1:%s/health/ready' % sys.argv[1]\n"
    f"for _ in range({SERVER_READY_SECONDS}):\n"
    "    try:\n"
    "        if httpx.get(url).is_success: break\n"
    "    except httpx.HTTPError: pass\n"
    "    time.sleep(1)\n"
    "else: raise SystemExit('modelyard serve was not ready; see build/serve.log')\" "
    '"$LOADTEST_PORT"\n'
)


def _loadtest(spec: Pipeline) -> str:
    return (
        'modelyard endpoint create "$LOADTEST_ENDPOINT" --model "$MODEL_NAME@$MODEL_VERSION"\n'
        'modelyard serve --dev --no-controller --port "$LOADTEST_PORT" > build/serve.log 2>&1 &\n'
        + WAIT_READY
        + 'modelyard loadtest "$LOADTEST_ENDPOINT" --url "http://127.0.0.1:$LOADTEST_PORT"'
        f" --users {spec.users} --duration {spec.duration} --p95-ms {spec.p95_ms:g}"
        f" --max-error-rate {spec.max_error_rate:g}\n"
    )


CLEANUP = 'modelyard endpoint delete "$LOADTEST_ENDPOINT" --reason "load-test gate done" || true\n'


def _rollout(spec: Pipeline, run_ref: str) -> str:
    return (
        'modelyard rollout start "$ENDPOINT" --candidate "$MODEL_NAME@$MODEL_VERSION"'
        f" --steps {spec.steps} --interval {spec.interval}"
        f" --check 'p95_ms<{spec.p95_ms:g}' --check 'error_rate<0.01'"
        f' --reason "CI run {run_ref}"\n'
    )


def github_workflow(spec: Pipeline) -> dict[str, Any]:
    """One job, step by step: a failed gate stops the steps after it. The secrets reach
    only the steps that open the yard, never the third-party actions."""
    secrets = {name: f"${{{{ secrets.{name} }}}}" for name in SECRETS}
    steps: list[dict[str, Any]] = [
        {"uses": "actions/checkout@v4"},
        {"uses": "actions/setup-python@v5", "with": {"python-version": spec.python}},
        {"name": "Install", "run": f"{spec.install}\n"},
        {"name": "Train", "run": _train(spec)},
        {"name": "Drift gate", "run": DRIFT},
        {
            "name": "Register",
            "env": secrets,
            "run": REGISTER + VERSION_OF + ' >> "$GITHUB_ENV"\n',
        },
        {"name": "Promotion gate", "env": secrets, "run": PROMOTION},
        {"name": "Load-test gate", "env": secrets, "run": _loadtest(spec)},
        {
            "name": "Remove the load-test endpoint",
            "if": "always() && env.MODEL_VERSION != ''",
            "env": secrets,
            "run": CLEANUP,
        },
        {"name": "Canary rollout", "env": secrets, "run": _rollout(spec, "$GITHUB_RUN_ID")},
    ]
    return {
        "name": "modelyard",
        "on": {"push": {"branches": [spec.branch]}, "workflow_dispatch": {}},
        "permissions": {"contents": "read"},
        # one pipeline at a time: two rollouts of one endpoint would refuse each other
        "concurrency": {"group": "modelyard-${{ github.ref }}", "cancel-in-progress": False},
        "env": {
            **spec.variables(),
            "LOADTEST_ENDPOINT": f"{spec.endpoint}-ci-${{{{ github.run_id }}}}",
            "MODELYARD_ACTOR": "github:${{ github.actor }}",
        },
        "jobs": {"ship": {"runs-on": "ubuntu-latest", "timeout-minutes": 60, "steps": steps}},
    }


def gitlab_pipeline(spec: Pipeline) -> dict[str, Any]:
    """A stage per gate; the registered version travels as a dotenv report. The secrets are
    the project's masked CI/CD variables, which GitLab puts in every job's environment."""
    build = {"paths": ["build/"], "expire_in": "1 week", "when": "always"}
    on_branch = [{"if": f'$CI_COMMIT_BRANCH == "{spec.branch}"'}]
    return {
        "stages": ["train", "register", "loadtest", "rollout"],
        "default": {
            "image": f"python:{spec.python}-slim",
            "before_script": [spec.install],
        },
        "variables": {
            **spec.variables(),
            "LOADTEST_ENDPOINT": f"{spec.endpoint}-ci-$CI_PIPELINE_ID",
            "MODELYARD_ACTOR": "gitlab:$GITLAB_USER_LOGIN",
        },
        "workflow": {"rules": [*on_branch, {"if": '$CI_PIPELINE_SOURCE == "web"'}]},
        "train": {
            "stage": "train",
            "script": [_train(spec), DRIFT],
            "artifacts": build,
        },
        "register": {
            "stage": "register",
            "needs": ["train"],
            "script": [
                REGISTER,
                VERSION_OF + " > build/version.env\n. build/version.env\n",
                PROMOTION,
            ],
            "artifacts": {**build, "reports": {"dotenv": "build/version.env"}},
        },
        "loadtest": {
            "stage": "loadtest",
            "needs": ["train", "register"],
            "script": [_loadtest(spec)],
            "after_script": [CLEANUP],
            "artifacts": build,
        },
        "rollout": {
            "stage": "rollout",
            "needs": ["register", "loadtest"],
            "script": [_rollout(spec, "$CI_PIPELINE_ID")],
        },
    }


def pipeline_files(spec: Pipeline, providers: list[str]) -> dict[str, str]:
    """Relative path → YAML text, one file per provider asked for."""
    import yaml

    unknown = sorted(set(providers) - set(PROVIDERS))
    if unknown or not providers:
        raise InvalidInput(
            f"--provider {', '.join(unknown) or '(none)'}: expected {' or '.join(PROVIDERS)}"
        )
    header = (
        "# Written by `modelyard deploy ci`: train, drift gate, register, promotion gate,\n"
        "# load-test gate, canary rollout. The train command writes $MODEL_FILE, $SAMPLE_FILE\n"
        "# (its input rows), $HOLDOUT_FILE (with the $LABEL column) and $DRIFT_CURRENT (fresh\n"
        "# data, judged against $DRIFT_REFERENCE); see docs/deploy.md.\n"
        "# Secrets come from the CI system's secret store, never from this file:\n"
        f"# {', '.join(SECRETS)}.\n"
    )
    builders = {"github": (GITHUB_PATH, github_workflow), "gitlab": (GITLAB_PATH, gitlab_pipeline)}
    files = {}
    for provider in dict.fromkeys(providers):
        path, build = builders[provider]
        text = yaml.dump(build(spec), Dumper=_dumper(), sort_keys=False, width=100)
        files[path] = header + text
    return files


def _literal(dumper: Any, text: str) -> Any:
    """Shell scripts as ``|`` blocks, as a person would write them."""
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _dumper() -> type[Any]:
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True  # no &id001 anchors: each job reads whole

    Dumper.add_representer(str, _literal)
    return Dumper
