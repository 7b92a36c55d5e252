-- wrk script for bench/ingest.ts. The placeholders in double braces are filled in by
-- ingest.ts, which writes the result to its temporary directory.
--
-- Every request carries unique event ids: run prefix + wrk thread number + counter.
-- response() counts answers per status (and accepted events); done() prints one line
-- "BENCH_JSON {...}" that ingest.ts parses.

local mode = "{{MODE}}" -- "single": one event per request; "batch": several per request
local batch_size = {{BATCH}}
local run_prefix = "{{PREFIX}}"

wrk.method = "POST"
wrk.path = "/v1/events"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {{KEY}}"

-- A realistic purchase (~400 bytes); the event id is spliced in twice (event_id, order_id).
local part1 = '{"event_id":"'
local part2 = '","event_name":"purchase","event_time":{{EVENT_TIME}},"source":"server",'
  .. '"action_source":"website","user_data":{"email":"Ada.Lovelace@example.com",'
  .. '"phone":"+1 650 555 1212","first_name":"Ada","last_name":"Lovelace","country":"US",'
  .. '"client_ip":"203.0.113.7","browser_ids":{"fbp":"fb.1.1767225600000.1234567890"}},'
  .. '"value":49.9,"currency":"EUR","order_id":"'
local part3 = '","items":[{"id":"sku-1","quantity":2,"price":24.95}],'
  .. '"page":{"url":"https://shop.example/checkout?utm_source=google&gclid=Cj0KCQ","title":"Checkout"},'
  .. '"consent":{"ad_user_data":"granted","ad_personalization":"granted"}}'

-- Main Lua state: remember each thread so done() can read its counters.
local threads = {}
local next_tid = 0

function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  table.insert(threads, thread)
end

-- Thread Lua states: globals read back by done() through thread:get().
statuses = {}
accepted = 0
local counter = 0
local id_prefix = run_prefix

function init(args)
  id_prefix = run_prefix .. "-t" .. tostring(tid) .. "-"
end

local function event(id)
  return part1 .. id .. part2 .. id .. part3
end

function request()
  if mode == "single" then
    counter = counter + 1
    return wrk.format(nil, nil, nil, event(id_prefix .. counter))
  end
  local parts = {}
  for i = 1, batch_size do
    counter = counter + 1
    parts[i] = event(id_prefix .. counter)
  end
  return wrk.format(nil, nil, nil, '{"events":[' .. table.concat(parts, ",") .. "]}")
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status == 202 then
    if mode == "single" then
      accepted = accepted + 1
    elseif body then
      local n = string.match(body, '"accepted":(%d+)')
      if n then accepted = accepted + tonumber(n) end
    end
  end
end

function done(summary, latency, requests)
  local total = {}
  local acc = 0
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    if s then
      for k, v in pairs(s) do total[k] = (total[k] or 0) + v end
    end
    acc = acc + (thread:get("accepted") or 0)
  end
  local parts = {}
  for k, v in pairs(total) do
    parts[#parts + 1] = string.format('"%s":%.0f', k, v)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,'
      .. '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},'
      .. '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"mean":%.1f},'
      .. '"statuses":{%s},"accepted":%.0f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean,
    table.concat(parts, ","), acc))
end
