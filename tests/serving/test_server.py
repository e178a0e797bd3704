"""Starting the server: the open-files limit leaves room for the connection cap; a gRPC
port that cannot be used is refused before anything starts."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from modelyard.config import Settings
from modelyard.errors import InvalidInput
from modelyard.serving.server import default_native_threads, serve

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


def test_a_grpc_port_that_cannot_be_used_is_refused_before_starting(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, grpc_port=9999)
    with pytest.raises(InvalidInput, match=r"--grpc-port must differ from --port \(9999\)"):
        serve(settings, "127.0.0.1", 9999, 1)
    with pytest.raises(InvalidInput, match="--grpc-port must be from 1 to 65535, got 70000"):
        serve(settings.model_copy(update={"grpc_port": 70000}), "127.0.0.1", 0, 1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = settings.model_copy(update={"grpc_port": port})
        with pytest.raises(InvalidInput, match=f"cannot listen on 127.0.0.1:{port}"):
            serve(busy, "127.0.0.1", 0, 1)


def test_each_worker_s_event_loop_keeps_a_core_from_the_model_threads() -> None:
    assert default_native_threads(2, 1) == 1  # not 2: OpenMP would spin on the loop's core
    assert default_native_threads(2, 2) == 1
    assert default_native_threads(1024, 1) == 256  # what the setting accepts back
    assert default_native_threads(8, 1) == 7
    assert default_native_threads(8, 2) == 3
    assert default_native_threads(1, 4) == 1


def test_short_model_calls_are_waited_for_on_the_loop_unless_grpcio_shares_it(
    tmp_path: Path,
) -> None:
    """runtime/batcher.py, _short_wait: grpc.aio's calls reach the batcher in several loop
    steps; pygrpc-native's front (the default) hands them over as HTTP requests come."""
    from modelyard import Yard
    from modelyard.serving.app import create_app
    from modelyard.serving.grpc.server import front_of

    home = tmp_path / "h"
    with Yard(home) as yard:
        http_only = create_app(yard.services, Settings(home=home))
        native = create_app(yard.services, Settings(home=home, grpc_port=50051))
        grpcio = create_app(
            yard.services, Settings(home=home, grpc_port=50051, grpc_front="grpcio")
        )
    assert http_only.state.plane.table.short_waits
    assert not grpcio.state.plane.table.short_waits
    # where pygrpc-native cannot be imported, grpcio's front serves "native" too
    assert native.state.plane.table.short_waits == (front_of("native") == "native")
