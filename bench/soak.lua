-- soak.lua: wrk script for bench/soak.sh. Sends, in turn, the requests listed in
-- the file named by RB_SOAK_LIST (one per line: METHOD, a tab, PATH, a tab, the
-- file holding the body or "-" for none; form bodies), and counts the answers
-- by HTTP status; done() prints one line "codes STATUS=N STATUS=N ...".
local list = os.getenv("RB_SOAK_LIST")
assert(list, "RB_SOAK_LIST is not set")
local specs = {}
for line in io.lines(list) do
	local method, path, file = line:match("^(%S+)\t(%S+)\t(%S+)$")
	assert(method, "bad line in " .. list .. ": " .. line)
	local body = nil
	if file ~= "-" then
		local f = assert(io.open(file, "rb"))
		body = f:read("*a")
		f:close()
	end
	specs[#specs + 1] = {method, path, body}
end
assert(#specs > 0, list .. " lists no request")
local reqs = {}

local threads = {}
function setup(thread)
	threads[#threads + 1] = thread
end

local n = 0
codes = {}
-- The requests are formatted here, once wrk has set its Host header.
function init(args)
	for i, r in ipairs(specs) do
		local headers = {}
		for k, v in pairs(wrk.headers) do
			headers[k] = v
		end
		if r[3] ~= nil then
			headers["Content-Type"] = "application/x-www-form-urlencoded"
		end
		reqs[i] = wrk.format(r[1], r[2], headers, r[3])
	end
	n = math.random(#reqs) - 1
end

function request()
	n = n + 1
	return reqs[(n - 1) % #reqs + 1]
end

function response(status, headers, body)
	codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
	local all = {}
	for _, t in ipairs(threads) do
		local c = t:get("codes")
		for k, v in pairs(c) do
			all[k] = (all[k] or 0) + v
		end
	end
	local keys = {}
	for k in pairs(all) do
		keys[#keys + 1] = k
	end
	table.sort(keys)
	local out = {}
	for _, k in ipairs(keys) do
		out[#out + 1] = k .. "=" .. all[k]
	end
	io.write("codes " .. table.concat(out, " ") .. "\n")
end
