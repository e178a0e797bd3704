-- wrk script: POST one fixed body (JSON, or v2 binary tensors), print a JSON summary when done.
--   BENCH_BODY=/path/body.json wrk -t1 -c64 -d10s -s post.lua http://127.0.0.1:8000/route
-- The summary is one line starting with "BENCH_JSON " so the orchestrator can find it.

local file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
-- BENCH_HEADER_LENGTH set: a v2 body with binary tensors after that many bytes of JSON
-- (sent with no Content-Type, as tritonclient.http sends it).
local header_length = os.getenv("BENCH_HEADER_LENGTH")
if header_length then
  wrk.headers["Inference-Header-Content-Length"] = header_length
else
  wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us": %d, "requests": %d, "bytes": %d, ' ..
    '"non_2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.duration, summary.requests, summary.bytes,
    e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
