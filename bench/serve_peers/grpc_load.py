"""gRPC load for bench/serve.py, the counterpart of wrk + post.lua for HTTP: one channel,
C calls in flight at all times for D seconds, each the same pre-serialized ModelInferRequest.

    python grpc_load.py HOST:PORT BODY_FILE CONNECTIONS SECONDS

Prints one line starting with "BENCH_JSON " with the keys post.lua prints (non-OK statuses
count as non_2xx, deadline overruns as timeouts). Bytes go out as they are and come back
undecoded, so the client does no protobuf work of its own.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import grpc

METHOD = "/inference.GRPCInferenceService/ModelInfer"
TIMEOUT_SECONDS = 10.0  # as wrk's --timeout 10s


async def load(target: str, body: bytes, connections: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    counts = {"requests": 0, "bytes": 0, "non_2xx": 0, "timeout": 0, "connect": 0}
    async with grpc.aio.insecure_channel(target) as channel:
        await asyncio.wait_for(channel.channel_ready(), 10)
        call = channel.unary_unary(METHOD)  # no (de)serializers: bytes in, bytes out
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds

        async def worker() -> None:
            while loop.time() < end:
                started = time.perf_counter()
                try:
                    answer = await call(body, timeout=TIMEOUT_SECONDS)
                    counts["bytes"] += len(answer)
                except grpc.aio.AioRpcError as exc:
                    if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                        counts["timeout"] += 1
                        continue
                    counts["non_2xx"] += 1
                counts["requests"] += 1
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        duration = time.perf_counter() - began
    ordered = sorted(latencies) or [0.0]

    def percentile(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1e6

    return {
        "duration_us": duration * 1e6,
        **counts,
        "read": 0,
        "write": 0,
        "p50_us": percentile(0.50),
        "p90_us": percentile(0.90),
        "p99_us": percentile(0.99),
        "max_us": ordered[-1] * 1e6,
        "mean_us": statistics.fmean(ordered) * 1e6,
    }


def main() -> None:
    target, body_file, connections, seconds = sys.argv[1:5]
    body = Path(body_file).read_bytes()
    summary = asyncio.run(load(target, body, int(connections), float(seconds)))
    print("BENCH_JSON " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
