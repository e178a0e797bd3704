"""Starting the server: the open-files limit leaves room for the connection cap."""

import subprocess
import sys

CODE = """
import resource
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
from modelyard.serving.server import _allow_open_files
_allow_open_files(min(1280, hard))
print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], min(1280, hard))
"""


def test_the_soft_open_files_limit_is_raised_for_the_connection_cap() -> None:
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    raised, wanted = done.stdout.split()
    assert raised == wanted
