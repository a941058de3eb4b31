-- bench/http/get.lua: wrk script for GET /v1/customers/{id} (the id is in
-- the URL wrk is given). The bearer token comes from BENCH_TOKEN.
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")

-- Anything but 200 is counted by wrk as "Non-2xx or 3xx responses".
