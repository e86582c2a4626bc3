-- wrk script: every request differs, as traffic from many clients does.
--
--   wrk -t1 -c50 -d3s -s bench/realistic.lua http://127.0.0.1:PORT -- NONCE
--
-- At init the script builds 2,000 client identities (each its own user agent,
-- accept, accept-language and cookie header lines, joined into one string) and
-- 400 request lines with varied paths and query strings. request() picks a
-- client and a request line at random and appends an X-Request-Id made of the
-- run's NONCE (give a fresh one to every run, so no request repeats across runs
-- either) and a per-request counter. The per-request work is two table look-ups
-- and one string concatenation, so wrk's own core stays as free as it can.
-- About 440 bytes of header fields, Host included.
--
-- wrk does not tell request() which connection it is for, so consecutive
-- requests on one connection come from different clients: what a server keeps
-- from the previous request on a connection does not match the next one.

local CLIENTS = 2000

local clients = {}
local lines = {}  -- request line and Host header, one per path
local host = "localhost"
local rid = "req-"
local counter = 0

local function hex(n)
  local out = {}
  for i = 1, n do
    out[i] = string.format("%x", math.random(0, 15))
  end
  return table.concat(out)
end

local function pick(list)
  return list[math.random(#list)]
end

local agents = {
  function() return string.format("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.%d.%d Safari/537.36", math.random(110, 131), math.random(5000, 6999), math.random(10, 250)) end,
  function() return string.format("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_%d) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.%d Safari/605.1.15", math.random(1, 7), math.random(0, 6)) end,
  function() return string.format("Mozilla/5.0 (X11; Linux x86_64; rv:%d.0) Gecko/20100101 Firefox/%d.0", math.random(115, 133), math.random(115, 133)) end,
  function() return string.format("Mozilla/5.0 (iPhone; CPU iPhone OS 17_%d like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.%d Mobile/15E148 Safari/604.1", math.random(0, 6), math.random(0, 6)) end,
  function() return string.format("Mozilla/5.0 (Linux; Android %d; Pixel %d) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.%d.%d Mobile Safari/537.36", math.random(11, 14), math.random(5, 8), math.random(110, 131), math.random(5000, 6999), math.random(10, 250)) end,
}

local accepts = {
  "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
  "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
  "application/json, text/plain, */*",
  "*/*",
}

local languages = {
  "en-US,en;q=0.9", "en-GB,en;q=0.8", "de-DE,de;q=0.9,en;q=0.6", "fr-FR,fr;q=0.9,en-US;q=0.7",
  "es-ES,es;q=0.9", "ja,en-US;q=0.8,en;q=0.6", "pt-BR,pt;q=0.9,en;q=0.5", "nl,en;q=0.7",
}

local words = {
  "shoes", "red+dress", "laptop", "coffee", "garden+chair", "usb-c", "headphones", "book",
  "lamp", "tent", "bike", "watch", "desk", "sofa", "phone+case", "kettle",
}

local function make_path(i)
  local k = i % 8
  if k == 0 then return string.format("/products/%d", math.random(1, 99999))
  elseif k == 1 then return string.format("/products/%d/reviews?page=%d&sort=newest", math.random(1, 99999), math.random(1, 20))
  elseif k == 2 then return string.format("/search?q=%s&page=%d", pick(words), math.random(1, 9))
  elseif k == 3 then return string.format("/api/v1/users/%d/orders?limit=%d", math.random(1, 999999), math.random(5, 50))
  elseif k == 4 then return string.format("/static/js/app.%s.js", hex(8))
  elseif k == 5 then return string.format("/blog/%d/%02d/%s", math.random(2015, 2026), math.random(1, 12), pick(words))
  elseif k == 6 then return string.format("/cart?item=%d&qty=%d&ref=%s", math.random(1, 99999), math.random(1, 5), hex(6))
  else return "/" end
end

function setup(thread)
  thread:set("thread_no", (thread_count or 0) + 1)
  thread_count = (thread_count or 0) + 1
end

function init(args)
  host = wrk.headers["Host"] or host
  local nonce = args[1] or tostring(os.time())
  math.randomseed(1234)  -- the same clients and paths in every run
  for i = 1, CLIENTS do
    clients[i] = "User-Agent: " .. agents[1 + i % #agents]() .. "\r\n"
      .. "Accept: " .. pick(accepts) .. "\r\n"
      .. "Accept-Language: " .. pick(languages) .. "\r\n"
      .. "Accept-Encoding: gzip, deflate, br\r\n"
      .. "Cookie: session=" .. hex(32) .. "; csrftoken=" .. hex(24)
      .. "; _ga=GA1.1." .. math.random(100000000, 999999999) .. "." .. math.random(1600000000, 1760000000)
      .. "\r\n"
  end
  for i = 1, 400 do
    lines[i] = "GET " .. make_path(i) .. " HTTP/1.1\r\nHost: " .. host .. "\r\n"
  end
  rid = nonce .. "-" .. (thread_no or 1) .. "-"
  -- the request order differs from run to run
  local seed = 0
  for i = 1, #nonce do seed = (seed * 31 + nonce:byte(i)) % 2147483647 end
  math.randomseed(seed)
end

function request()
  counter = counter + 1
  return lines[math.random(400)] .. clients[math.random(CLIENTS)]
    .. "X-Request-Id: " .. rid .. counter .. "\r\n\r\n"
end
