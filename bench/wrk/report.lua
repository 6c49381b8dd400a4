-- Shared by every bench script (loaded with dofile): numbers the threads, and prints one JSON
-- line "BENCH_JSON {...}" with the figures the driver (bench/run.py) reads. Supply-driven scripts
-- set the globals next_index (first supply line this thread has not used) and exhausted.
local threads = {}
local count = 0

function setup(thread)
   thread:set("tid", count)
   table.insert(threads, thread)
   count = count + 1
end

function done(summary, latency, requests)
   local next_index, exhausted = 0, 0
   for _, thread in ipairs(threads) do
      next_index = math.max(next_index, thread:get("next_index") or 0)
      exhausted = exhausted + (thread:get("exhausted") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, "next_index": %d, "exhausted": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout, next_index, exhausted))
end

-- For supply scripts: this thread's share of FILE's lines from OFFSET on, every NTHREADS-th one.
function read_share(path, offset, nthreads)
   local items, index = {}, 0
   for line in io.lines(path) do
      if index >= offset and (index - offset) % nthreads == tid then
         items[#items + 1] = line
      end
      index = index + 1
   end
   return items
end

-- "Basic " .. base64(USER .. ":x"): the Basic header nginx fills $remote_user from (the bench's
-- principal; no auth_basic checks it, see bench/nginx-bench.conf).
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function sextet(n)
   return alphabet:sub(n + 1, n + 1)
end

function base64(text)
   local out = {}
   for i = 1, #text, 3 do
      local a, b, c = text:byte(i, i + 2)
      local n = a * 65536 + (b or 0) * 256 + (c or 0)
      out[#out + 1] = sextet(math.floor(n / 262144) % 64) .. sextet(math.floor(n / 4096) % 64)
         .. (b and sextet(math.floor(n / 64) % 64) or "=") .. (c and sextet(n % 64) or "=")
   end
   return table.concat(out)
end

function basic_authorization(user)
   return "Basic " .. base64(user .. ":x")
end
