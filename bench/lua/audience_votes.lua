-- Upvotes through the token service: PUT and DELETE /questions/<id>/vote, each
-- request a real change. Request k (over all threads, from $WRK_START) is
-- attendee k mod T on question (k div T) mod Q, an upvote in even rounds of all
-- T*Q pairs and its removal in odd ones: no request repeats a vote already
-- counted, and each attendee stays far below its per-identity limit.
-- $WRK_TOKENS: a file of access tokens, one a line; $WRK_QUESTIONS: question
-- ids, comma-separated; $WRK_BASE: /api/presentations/<id>.
-- bench/audience_bench.py's vote_plan is the same arithmetic.
dofile(os.getenv('WRK_LUA_DIR') .. '/audience_common.lua')

function init(args)
  tokens = bearer_tokens()
  questions = {}
  for q in string.gmatch(os.getenv('WRK_QUESTIONS'), '[^,]+') do
    questions[#questions + 1] = os.getenv('WRK_BASE') .. '/questions/' .. q .. '/vote'
  end
  k = tonumber(os.getenv('WRK_START') or '0') + id
  stride = tonumber(os.getenv('WRK_THREADS'))
end

function request()
  local t, q = #tokens, #questions
  local method = 'PUT'
  if math.floor(k / (t * q)) % 2 == 1 then method = 'DELETE' end
  local r = wrk.format(method, questions[math.floor(k / t) % q + 1], {
    ['Authorization'] = tokens[k % t + 1],
    ['Content-Length'] = '0',
  })
  k = k + stride
  return r
end
