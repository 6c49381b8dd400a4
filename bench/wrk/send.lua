-- POST to the URL's path (/bench/send or /bench/send-firewall: the shipped send location minus
-- limit_req; see bench/nginx-bench.conf) to a new phone each time (+FIRST_PHONE+index), so every
-- send really makes and delivers a code (one phone twice would be suppressed by the cooldown).
-- args: FIRST_PHONE OFFSET NTHREADS AUTHORIZATION PURPOSE
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

function init(args)
   first, offset, nthreads = tonumber(args[1]), tonumber(args[2]), tonumber(args[3])
   purpose = args[5]
   used, exhausted, next_index = 0, 0, offset + tid
   head = "POST " .. wrk.path .. " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " .. args[4]
      .. "\r\nContent-Type: application/json\r\nContent-Length: "
end

function request()
   local index = offset + tid + used * nthreads
   used = used + 1
   next_index = offset + tid + used * nthreads
   local body = string.format('{"phone_e164": "+%d", "purpose": "%s"}', first + index, purpose)
   return head .. #body .. "\r\n\r\n" .. body
end
