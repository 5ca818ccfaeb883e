-- ARGV: P, now, limit, list
local now, limit, list = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local given = 0
for _, task in ipairs(redis.call('ZRANGE', P .. 'backlog', 0, limit - 1)) do
  local t = redis.call('HMGET', P .. 'task:' .. task, 'queue', 'country')
  local reviewer = pick(t[1], t[2], nil)
  if reviewer then
    give(task, reviewer, now, 'capacity freed', list)
    given = given + 1
  end
end
return given
