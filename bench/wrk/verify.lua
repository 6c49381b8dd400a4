-- POST /api/otp/verify for the next unused (phone, code, user) each time, as that user (the
-- owner of the step_up code, whose verified phone it is: a Basic header per request), with the
-- right code or a wrong one (last digit changed: one wrong guess per phone, so every guess is
-- evaluated).
-- args: CODES_FILE OFFSET NTHREADS right|wrong PURPOSE
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

function init(args)
   offset, nthreads = tonumber(args[2]), tonumber(args[3])
   wrong = args[4] == "wrong"
   purpose = args[5]
   -- Parsed (and the Basic header encoded) here, not per request: wrk shares the CPUs with nginx
   -- and otp-fcgi.
   items = {}
   for i, line in ipairs(read_share(args[1], offset, nthreads)) do
      local phone, code, user = line:match("^(%S+) (%d+) (%S+)$")
      if wrong then
         code = code:sub(1, -2) .. tostring((tonumber(code:sub(-1)) + 1) % 10)
      end
      local body = '{"phone_e164": "' .. phone .. '", "purpose": "' .. purpose .. '", "code": "' .. code .. '"}'
      items[i] = "Authorization: " .. basic_authorization(user) .. "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
   end
   used, exhausted, next_index = 0, 0, offset + tid
   head = "POST /api/otp/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
   local body = '{"phone_e164": "+19999999999", "purpose": "' .. purpose .. '", "code": "000000"}'
   none = "Authorization: " .. basic_authorization("exhausted") .. "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
end

function request()
   used = used + 1
   next_index = offset + tid + used * nthreads
   local item = items[used]
   if item == nil then
      exhausted = exhausted + 1
      item = none
   end
   return head .. item
end
