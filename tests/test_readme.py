"""The README runs as written: its code blocks, in order, from an empty folder.

How a fenced block of README.md is treated, by its language tag:

- ``python``: run by the venv's Python in a fresh process.
- ``sh`` (or ``bash``, ``shell``, ``console``): run by ``bash -e -o pipefail``, with the venv's
  ``bin`` first on PATH and ``curl`` failing on an HTTP error status (``--fail-with-body``), so
  a refused request fails the block. What a block exports, later blocks see (one terminal).
- A ``modelyard serve …`` line in a shell block starts a real server with the README's
  options, on a free loopback port in place of 8000, and waits until ``/health/ready``
  answers; from then on every block's ``127.0.0.1:8000`` is that port. The server is stopped
  (SIGTERM, then waited for) once every block has run.
- ``text``: never run (diagrams, sample output).
- Any block right after an ``<!-- not run: REASON -->`` line is skipped; the reason is required.
- Any other block (a bare fence, another language) fails the test: each block must say which
  of these it is.

Every block runs with the temporary folder as its working directory and MODELYARD_HOME,
MODELYARD_DB_URL and MODELYARD_ARTIFACTS unset: the README's yard is ``./.modelyard``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.serving_fixtures import Server, running_server

README = Path(__file__).parents[1] / "README.md"
BIN = Path(sys.executable).parent
SHELL_TAGS = {"sh", "bash", "shell", "console"}
README_URL = "127.0.0.1:8000"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.*?)\s*-->\s*$", re.S)
SERVE = re.compile(r"^\s*modelyard\s+serve\b")
BLOCK_TIMEOUT = 600  # a block of fifteen commands took 232 s on a busy 2-core machine


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    kind: str  # python | shell | text | not run
    code: str
    reason: str = ""


def readme_blocks(text: str) -> list[Block]:
    blocks = []
    for match in FENCE.finditer(text):
        tag, code = match.group(1).strip(), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        skipped = NOT_RUN.search(before)
        if skipped:
            assert skipped.group(1), f"README.md:{line}: say why the block is not run"
            blocks.append(Block(line, "not run", code, skipped.group(1)))
        elif tag == "python":
            blocks.append(Block(line, "python", code))
        elif tag in SHELL_TAGS:
            blocks.append(Block(line, "shell", code))
        elif tag == "text":
            blocks.append(Block(line, "text", code))
        else:
            raise AssertionError(
                f"README.md:{line}: a ```{tag} block: tag it python, sh or text, or put "
                "<!-- not run: REASON --> before it (see tests/test_readme.py)"
            )
    return blocks


def test_every_readme_block_says_how_it_is_run() -> None:
    blocks = readme_blocks(README.read_text())
    assert [b.kind for b in blocks if b.kind in ("python", "shell")], "nothing to run"
    serves = [b for b in blocks if b.kind == "shell" and any(map(SERVE.match, _lines(b.code)))]
    assert len(serves) == 1, "the README starts its server once"


def _lines(code: str) -> list[str]:
    """Shell lines with their continuations joined."""
    return code.replace("\\\n", " ").splitlines()


class Session:
    """One reader's terminal: a working folder, the environment, the server once started."""

    def __init__(self, workdir: Path, scratch: Path, servers: ExitStack) -> None:
        self.workdir = workdir
        self.scratch = scratch
        self.servers = servers
        self.server: Server | None = None
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("MODELYARD_HOME", "MODELYARD_DB_URL", "MODELYARD_ARTIFACTS")
        }
        self.env["PATH"] = f"{BIN}{os.pathsep}{self.env['PATH']}"

    def run(self, block: Block) -> None:
        if block.kind == "python":
            self._python(block)
        elif block.kind == "shell":
            pending: list[str] = []
            for line in _lines(block.code):
                if SERVE.match(line):
                    self._shell(block, "\n".join(pending))
                    pending = []
                    self._serve(block, line)
                else:
                    pending.append(line)
            self._shell(block, "\n".join(pending))

    def _here(self, code: str) -> str:
        if self.server is None:
            return code
        return code.replace(README_URL, self.server.url.removeprefix("http://"))

    def _python(self, block: Block) -> None:
        script = self.scratch / f"README.md-line-{block.line}.py"
        script.write_text(self._here(block.code))
        self._check(block, [sys.executable, str(script)])

    def _shell(self, block: Block, code: str) -> None:
        if not code.strip():
            return
        state = self.scratch / "env"
        script = (
            'curl() { command curl --fail-with-body "$@"; }\n'
            f"{self._here(code)}\n"
            f"env -0 > {shlex.quote(str(state))}\n"
        )
        self._check(block, ["bash", "-e", "-o", "pipefail", "-c", script])
        self.env = dict(item.split("=", 1) for item in state.read_text().split("\0") if "=" in item)

    def _serve(self, block: Block, line: str) -> None:
        assert self.server is None, f"README.md:{block.line}: a second server"
        words = shlex.split(line, comments=True)[2:]
        if "--port" in words:  # the test's free port replaces the README's
            at = words.index("--port")
            del words[at : at + 2]
        assert not any(w.startswith(("--host", "--port=")) for w in words), line
        self.server = self.servers.enter_context(
            running_server(self.workdir / ".modelyard", *words)
        )

    def stop(self) -> None:
        if self.server is not None:
            self.server.process.terminate()
            self.server.process.wait(timeout=60)

    def _check(self, block: Block, command: list[str]) -> None:
        done = subprocess.run(
            command,
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            server = self.server.logs()[-3000:] if self.server else "(no server started)"
            pytest.fail(
                f"README.md:{block.line}: the {block.kind} block exited {done.returncode}\n"
                f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}\n"
                f"--- server log (end)\n{server}",
                pytrace=False,
            )


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_readme_runs_in_order_from_an_empty_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MODELYARD_HOME", "MODELYARD_DB_URL", "MODELYARD_ARTIFACTS"):
        monkeypatch.delenv(name, raising=False)  # the server's environment too
    workdir, scratch = tmp_path / "reader", tmp_path / "scratch"
    workdir.mkdir()
    scratch.mkdir()
    with ExitStack() as servers:
        session = Session(workdir, scratch, servers)
        for block in readme_blocks(README.read_text()):
            session.run(block)
        session.stop()
    assert (workdir / ".modelyard" / "yard.db").is_file()
    assert session.server is not None, "the README never starts its server"


def test_pictures_in_the_docs_exist() -> None:
    """The README and docs show the console's screenshots: each must be in the repository."""
    for page in [README, *sorted((README.parent / "docs").glob("*.md"))]:
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text()):
            picture = page.parent / target
            assert picture.is_file(), f"{page.name} shows {target}, which does not exist"
            assert picture.stat().st_size > 10_000, f"{target} is not a real screenshot"
