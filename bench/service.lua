-- service.lua: wrk script for bench/service.sh. POSTs the file named by the
-- environment variable RB_BENCH_BODY (an application/x-www-form-urlencoded
-- body, or of type RB_BENCH_CTYPE when set) on every request. Nothing else:
-- latency and status counts are wrk's.
local path = os.getenv("RB_BENCH_BODY")
assert(path, "RB_BENCH_BODY is not set")
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("RB_BENCH_CTYPE") or "application/x-www-form-urlencoded"
