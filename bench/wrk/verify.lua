-- POST /api/otp/verify for the next unused (phone, code) each time, with the right code or a
-- wrong one (last digit changed: one wrong guess per phone, so every guess is evaluated).
-- args: CODES_FILE OFFSET NTHREADS AUTHORIZATION right|wrong PURPOSE
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

function init(args)
   offset, nthreads = tonumber(args[2]), tonumber(args[3])
   items = read_share(args[1], offset, nthreads)
   wrong = args[5] == "wrong"
   purpose = args[6]
   used, exhausted, next_index = 0, 0, offset + tid
   head = "POST /api/otp/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " .. args[4]
      .. "\r\nContent-Type: application/json\r\nContent-Length: "
end

function request()
   used = used + 1
   next_index = offset + tid + used * nthreads
   local line = items[used]
   if line == nil then
      exhausted = exhausted + 1
      line = "+19999999999 000000"
   end
   local phone, code = line:match("^(%S+) (%d+)$")
   if wrong then
      code = code:sub(1, -2) .. tostring((tonumber(code:sub(-1)) + 1) % 10)
   end
   local body = '{"phone_e164": "' .. phone .. '", "purpose": "' .. purpose .. '", "code": "' .. code .. '"}'
   return head .. #body .. "\r\n\r\n" .. body
end
