-- echo.lua - wrk script for bench/echo: POSTs one websocket-events TEXT echo message per request and checks every answer.
--
-- Driven by bench/echo through the environment:
--   BENCH_CONN_ID   Connection-Id header (a connection the backend has seen OPEN for)
--   BENCH_GRIP_SIG  Grip-Sig header, sent when set
--   BENCH_EXPECT    a string every response body must contain (besides "TEXT ")
-- Each request carries a fresh message id:
--   TEXT <hex>\r\n{"action":"echo","id":"t<thread>-<n>","payload":{"n":<n>,"msg":"hello world"}}\r\n
-- A response counts as bad when its status is not 200 or its body lacks
-- "TEXT " or BENCH_EXPECT. done() prints one machine-readable line:
--   BENCH_RESULT requests=... duration_us=... rps=... p50_us=... p90_us=... p99_us=... max_us=...
--                non200=... bad_body=... err_connect=... err_read=... err_write=... err_timeout=...

local threads = {}
local next_thread = 0

function setup(thread)
   thread:set("tid", next_thread)
   next_thread = next_thread + 1
   table.insert(threads, thread)
end

local conn_id = os.getenv("BENCH_CONN_ID") or "bench-1"
local grip_sig = os.getenv("BENCH_GRIP_SIG")
local expect = os.getenv("BENCH_EXPECT") or ""

local n = 0
non200 = 0
bad_body = 0
first_bad = nil

local headers = {
   ["Content-Type"] = "application/websocket-events",
   ["Accept"] = "application/websocket-events",
   ["Connection-Id"] = conn_id,
}
if grip_sig and grip_sig ~= "" then
   headers["Grip-Sig"] = grip_sig
end

function request()
   n = n + 1
   local msg = string.format('{"action":"echo","id":"t%d-%d","payload":{"n":%d,"msg":"hello world"}}',
      tid or 0, n, n)
   local body = string.format("TEXT %x\r\n%s\r\n", #msg, msg)
   return wrk.format("POST", nil, headers, body)
end

function response(status, hdrs, body)
   if status ~= 200 then
      non200 = non200 + 1
      if not first_bad then first_bad = "status " .. status .. ": " .. string.sub(body or "", 1, 200) end
   elseif not body or not string.find(body, "TEXT ", 1, true)
      or (expect ~= "" and not string.find(body, expect, 1, true)) then
      bad_body = bad_body + 1
      if not first_bad then first_bad = "body: " .. string.sub(body or "", 1, 200) end
   end
end

function done(summary, latency, requests)
   local bad_status, bad = 0, 0
   for _, t in ipairs(threads) do
      bad_status = bad_status + (t:get("non200") or 0)
      bad = bad + (t:get("bad_body") or 0)
      local fb = t:get("first_bad")
      if fb then io.stderr:write("echo.lua: first bad response: " .. fb .. "\n") end
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
      "non200=%d bad_body=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      bad_status, bad, e.connect, e.read, e.write, e.timeout))
end
