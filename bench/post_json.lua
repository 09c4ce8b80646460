-- wrk script for bench/api_bench.sh: every request is a POST of the JSON
-- body in the environment variable BENCH_BODY to the path in BENCH_PATH.
-- The bearer token comes from wrk's -H option.

function init(args)
	wrk.method = "POST"
	wrk.path = os.getenv("BENCH_PATH")
	wrk.body = os.getenv("BENCH_BODY")
	wrk.headers["Content-Type"] = "application/json"
end
