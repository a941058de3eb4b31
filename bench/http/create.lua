-- bench/http/create.lua: wrk script for POST /v1/customers, one new
-- customer per request with an e-mail no other request uses (BENCH_RUN
-- names the run, each wrk thread numbers its own requests). The bearer
-- token comes from BENCH_TOKEN. Every request should be 201: wrk counts
-- anything else as "Non-2xx or 3xx responses", which run.sh reports.
local threads_made = 0

function setup(thread)
	threads_made = threads_made + 1
	thread:set("tid", threads_made)
end

function init(args)
	counter = 0
	run = os.getenv("BENCH_RUN") or "run"
	headers = {
		["Content-Type"] = "application/json",
		["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"),
	}
end

function request()
	counter = counter + 1
	local body = string.format('{"name":"Bench %d","email":"http-%s-%d-%d@bench.test"}',
		counter, run, tid, counter)
	return wrk.format("POST", "/v1/customers", headers, body)
end
