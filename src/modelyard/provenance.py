"""Where a version or run came from: code commit, environment, user, host."""

from __future__ import annotations

import platform
import socket
import subprocess
from pathlib import Path
from typing import Any

from modelyard.config import current_user
from modelyard.packages import package_version


def git_state(cwd: Path | None = None) -> dict[str, Any]:
    """Commit and dirty flag of the working directory's repository, if it is one."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None, "branch": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit,
        "dirty": bool(status),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
    }


def capture(actor: str, libraries: dict[str, str] | None = None) -> dict[str, Any]:
    user = current_user()
    return {
        "git": git_state(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": {"modelyard": package_version("modelyard"), **(libraries or {})},
        "user": user,
        "actor": actor,
        "host": socket.gethostname(),
    }
