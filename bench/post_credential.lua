-- wrk script for bench/http_bench.sh: each request is POST /v1/credentials
-- with a name that no other request in the run uses, so every request
-- creates a new credential instead of getting 409 conflict.
-- The bearer token comes from wrk's -H option, and wrk counts answers
-- other than 2xx/3xx (409 conflict among them) in its own summary.

local next_thread_id = 0

-- Runs in the main interpreter once per thread, before the thread starts.
function setup(thread)
	thread:set("thread_id", next_thread_id)
	next_thread_id = next_thread_id + 1
end

function init(args)
	counter = 0
	-- Names from different runs against the same data directory must
	-- not collide either, so they carry the start time of the run.
	run_tag = tostring(os.time())
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
end

function request()
	counter = counter + 1
	local name = string.format("bench-%s-%d-%d", run_tag, thread_id, counter)
	local body = string.format(
	    '{"type":"api_token","name":"%s","value":"bench-value-%d"}',
	    name, counter)
	return wrk.format(nil, "/v1/credentials", nil, body)
end
