-- GET /protected (auth_request to the real step-up check) with the next unused token each time.
-- args: TOKENS_FILE OFFSET NTHREADS AUTHORIZATION
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

function init(args)
   offset, nthreads = tonumber(args[2]), tonumber(args[3])
   items = read_share(args[1], offset, nthreads)
   used, exhausted, next_index = 0, 0, offset + tid
   head = "GET /protected HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " .. args[4] .. "\r\nX-Step-Up-Token: "
end

function request()
   used = used + 1
   next_index = offset + tid + used * nthreads
   local token = items[used]
   if token == nil then
      exhausted = exhausted + 1
      token = "exhausted"
   end
   return head .. token .. "\r\n\r\n"
end
