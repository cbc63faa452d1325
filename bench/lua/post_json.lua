-- POST the JSON body in $WRK_BODY to the URL wrk was given, each request from
-- another client address (X-Forwarded-For, as nginx on loopback sets it), so the
-- token service's per-client rate limit sees an audience, not one flooding client.
dofile(os.getenv('WRK_LUA_DIR') .. '/report.lua')

local next_id = 0

function setup(thread)
  thread:set('id', next_id)
  next_id = next_id + 1
end

function init(args)
  body = os.getenv('WRK_BODY') or '{}'
  path = wrk.path
  counter = 0
end

function request()
  counter = counter + 1
  -- 10.<thread>.<hi>.<lo>: 65,536 addresses per thread before one repeats.
  local address = string.format('10.%d.%d.%d', id % 256,
    math.floor(counter / 256) % 256, counter % 256)
  return wrk.format('POST', path, {
    ['Content-Type'] = 'application/json',
    ['X-Forwarded-For'] = address,
  }, body)
end

function done(summary, latency, requests)
  report(summary, latency)
end
