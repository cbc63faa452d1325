-- Questions through the token service: POST <path> {"text": "Question <n>"}.
-- $WRK_LINES holds "<path>\t<access token>" lines, each used once (questions
-- are capped per presentation and per attendee, so the bench prepares enough
-- presentations and attendees); thread k of $WRK_THREADS sends lines k, k+T, ...
dofile(os.getenv('WRK_LUA_DIR') .. '/audience_common.lua')

function init(args)
  lines = {}
  for line in io.lines(os.getenv('WRK_LINES')) do
    local path, token = line:match('^([^\t]*)\t(.*)$')
    lines[#lines + 1] = {path, 'Bearer ' .. token}
  end
  index = id
  stride = tonumber(os.getenv('WRK_THREADS'))
end

function request()
  local line = lines[index % #lines + 1]
  local body = string.format('{"text":"Question %d from the bench"}', index)
  index = index + stride
  return wrk.format('POST', line[1], {
    ['Authorization'] = line[2],
    ['Content-Type'] = 'application/json',
  }, body)
end
