import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).parents[2] / "docs" / "cli.md"


def test_cli_reference_is_generated_from_the_app(tmp_path: Path) -> None:
    """docs/cli.md must be what `make docs-cli` writes now, so it cannot drift from --help."""
    out = tmp_path / "cli.md"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "typer",
            "modelyard.cli.app",
            "utils",
            "docs",
            "--name",
            "modelyard",
            "--output",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    assert out.read_text() == DOCS.read_text(), "run `make docs-cli` and commit docs/cli.md"


def test_help_starts_without_heavy_imports() -> None:
    code = (
        "import sys, modelyard.cli.app; "
        "print(','.join(m for m in ('pandas', 'sklearn', 'sqlalchemy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
