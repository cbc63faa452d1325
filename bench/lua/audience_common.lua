-- Shared by the audience scripts: results as report.lua prints them, a thread
-- id for striding (thread k of $WRK_THREADS sends requests k, k+T, ...), and
-- the attendees' access tokens ($WRK_TOKENS: one a line) as header values.
dofile(os.getenv('WRK_LUA_DIR') .. '/report.lua')

local next_id = 0

function setup(thread)
  thread:set('id', next_id)
  next_id = next_id + 1
end

function bearer_tokens()
  local tokens = {}
  for line in io.lines(os.getenv('WRK_TOKENS')) do
    tokens[#tokens + 1] = 'Bearer ' .. line
  end
  return tokens
end

function done(summary, latency, requests)
  report(summary, latency)
end
