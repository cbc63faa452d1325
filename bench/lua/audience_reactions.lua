-- Reactions through the token service: POST /reactions, attendee k mod T,
-- emoji k mod E (request k over all threads). $WRK_TOKENS: access tokens, one a
-- line; $WRK_BODIES: the JSON bodies, one a line; $WRK_BASE:
-- /api/presentations/<id>.
dofile(os.getenv('WRK_LUA_DIR') .. '/audience_common.lua')

function init(args)
  tokens = bearer_tokens()
  bodies = {}
  for body in string.gmatch(os.getenv('WRK_BODIES'), '[^\n]+') do
    bodies[#bodies + 1] = body
  end
  path = os.getenv('WRK_BASE') .. '/reactions'
  k = id
  stride = tonumber(os.getenv('WRK_THREADS'))
end

function request()
  local r = wrk.format('POST', path, {
    ['Authorization'] = tokens[k % #tokens + 1],
    ['Content-Type'] = 'application/json',
  }, bodies[k % #bodies + 1])
  k = k + stride
  return r
end
