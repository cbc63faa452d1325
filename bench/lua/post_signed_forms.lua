-- POST pre-signed form bodies to $WRK_PATH, one distinct callback per request.
-- $WRK_LINES holds "<X-Twilio-Signature>\t<form body>" lines; thread k of
-- $WRK_THREADS sends lines k, k+T, k+2T, ... so threads never repeat each other.
dofile(os.getenv('WRK_LUA_DIR') .. '/report.lua')

local next_id = 0

function setup(thread)
  thread:set('id', next_id)
  next_id = next_id + 1
end

function init(args)
  local path = os.getenv('WRK_PATH')
  prepared = {}
  for line in io.lines(os.getenv('WRK_LINES')) do
    local sig, body = line:match('^([^\t]*)\t(.*)$')
    prepared[#prepared + 1] = wrk.format('POST', path, {
      ['Content-Type'] = 'application/x-www-form-urlencoded',
      ['X-Twilio-Signature'] = sig,
    }, body)
  end
  index = id
  stride = tonumber(os.getenv('WRK_THREADS'))
end

function request()
  local r = prepared[(index % #prepared) + 1]
  index = index + stride
  return r
end

function done(summary, latency, requests)
  report(summary, latency)
end
