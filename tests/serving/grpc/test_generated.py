"""The committed gRPC message modules are what grpcio-tools makes of oip.proto
(``make grpc-code`` regenerates them)."""

from pathlib import Path

import pytest

SRC = Path(__file__).parents[3] / "src"
PACKAGE = SRC / "modelyard" / "serving" / "grpc"
OIP = PACKAGE / "oip.proto"
COMMITTED = ("oip_pb2.py", "oip_pb2.pyi")


def test_generated_modules_match_the_proto_files(tmp_path: Path) -> None:
    protoc = pytest.importorskip("grpc_tools.protoc")
    status = protoc.main(
        ["protoc", f"-I{SRC}", f"--python_out={tmp_path}", f"--pyi_out={tmp_path}", str(OIP)]
    )
    assert status == 0
    made = tmp_path / "modelyard" / "serving" / "grpc"
    stale = [n for n in COMMITTED if (made / n).read_bytes() != (PACKAGE / n).read_bytes()]
    assert stale == [], "run `make grpc-code` and commit the result"
