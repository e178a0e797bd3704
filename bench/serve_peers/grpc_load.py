"""gRPC load for bench/serve.py, the counterpart of wrk + post.lua for HTTP: h2load
(nghttp2's load generator, C, like wrk) keeps C calls in flight on one HTTP/2 connection
for D seconds, each the same pre-serialized ModelInferRequest in one gRPC frame.

    python grpc_load.py HOST:PORT BODY_FILE CONNECTIONS SECONDS

Prints one line starting with "BENCH_JSON " with the keys post.lua prints.

Why not a grpcio client: grpcio's asyncio client, bytes in and out, cost ~300-350 µs of
CPU a call on this machine, a third of a core at ~1,000 calls/s, and it capped the fastest
server (PyTriton's C++ front end: ~1,040 calls/s under it, ~1,510 under h2load in the same
hour) while slower ones did not move: the client chose the winner.

h2load sees HTTP statuses, not gRPC's, which travel in trailers: a call refused with a gRPC
status is an HTTP 200 with no message. So one call is made first with grpcio and must
succeed; its answer's length, framed, is what every successful call brings back (the same
body gets the same answer's size from every server measured: fixed-width ids, fixed
shapes), and calls whose answer bytes are missing from h2load's data total count as
non-2xx. Two limits, said here rather than hidden: answers to calls still in flight when
the window ends are in that total but not in the log, so up to C refusals can go unseen;
and when the total is not a whole number of answers the sizes varied and the count is
approximate (said on stderr). h2load's own failures (network errors, timeouts) are counted
as socket errors and timeouts, as wrk's are.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc

METHOD = "/inference.GRPCInferenceService/ModelInfer"
CHECK_TIMEOUT_SECONDS = 30.0
H2LOAD = shutil.which("h2load") or "/usr/bin/h2load"
_FINISHED = re.compile(r"finished in ([0-9.]+)(ms|s)")
_DATA = re.compile(r"traffic: .*?\((\d+)\) data")
_FAILURES = re.compile(r"requests: .*?(\d+) errored, (\d+) timeout")


def framed(message: bytes) -> bytes:
    """One uncompressed gRPC length-prefixed message."""
    return b"\x00" + struct.pack(">I", len(message)) + message


def check_call(target: str, body: bytes) -> int:
    """One call through grpcio; the length of its framed answer (exits when it fails)."""
    with grpc.insecure_channel(target) as channel:
        try:
            answer = channel.unary_unary(METHOD)(body, timeout=CHECK_TIMEOUT_SECONDS)
        except grpc.RpcError as exc:
            raise SystemExit(f"check call failed: {exc.code()} {exc.details()}") from None
    return len(framed(answer))


def run_h2load(target: str, frame: Path, connections: int, seconds: int, log: Path) -> str:
    command = [H2LOAD, "-D", str(seconds), "-c", "1", "-m", str(connections), "-t", "1"]
    command += ["-H", "content-type: application/grpc", "-H", "te: trailers"]
    command += ["-d", str(frame), f"--log-file={log}", f"http://{target}{METHOD}"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not _FINISHED.search(done.stdout):
        raise SystemExit(f"h2load failed (exit {done.returncode}): {done.stdout}{done.stderr}")
    return done.stdout


def summarise(output: str, log: str, answer_length: int) -> dict[str, float]:
    """post.lua's keys from h2load's summary and its per-request log (start µs, HTTP
    status, µs to the end of the answer)."""
    finished = _FINISHED.search(output)
    assert finished is not None  # run_h2load checked
    seconds = float(finished.group(1)) / (1000 if finished.group(2) == "ms" else 1)
    data, failures = _DATA.search(output), _FAILURES.search(output)
    if data is None or failures is None:
        raise SystemExit(f"h2load's summary has no data total or request counts: {output}")
    data_bytes = int(data.group(1))
    statuses, latencies = [], []
    for line in log.splitlines():
        _, status, micros = line.split("\t")[:3]
        statuses.append(status)
        latencies.append(float(micros))
    ok_http = statuses.count("200")
    answered, remainder = divmod(data_bytes, answer_length)
    if remainder:
        print(
            f"answers varied in size ({data_bytes} bytes of data for {ok_http} calls of "
            f"{answer_length}): non-2xx is approximate",
            file=sys.stderr,
        )
    ordered = sorted(latencies) or [0.0]

    def percentile(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return {
        "duration_us": seconds * 1e6,
        "requests": len(statuses),
        "bytes": data_bytes,
        "non_2xx": len(statuses) - ok_http + max(ok_http - answered, 0),
        "timeout": int(failures.group(2)),
        "connect": 0,
        "read": int(failures.group(1)),  # network errors, as wrk's socket read errors
        "write": 0,
        "p50_us": percentile(0.50),
        "p90_us": percentile(0.90),
        "p99_us": percentile(0.99),
        "max_us": ordered[-1],
        "mean_us": statistics.fmean(ordered),
    }


def main() -> None:
    target, body_file, connections, seconds = sys.argv[1:5]
    body = Path(body_file).read_bytes()
    answer_length = check_call(target, body)
    with tempfile.TemporaryDirectory(prefix="grpc-load-") as folder:
        frame, log = Path(folder) / "frame", Path(folder) / "log"
        frame.write_bytes(framed(body))
        output = run_h2load(target, frame, int(connections), round(float(seconds)), log)
        summary = summarise(output, log.read_text(), answer_length)
    print("BENCH_JSON " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
