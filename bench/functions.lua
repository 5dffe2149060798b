#!lua name=ferritebench
-- Loaded into redis-server by scripts/bench.sh with FUNCTION LOAD REPLACE.
-- The Lua side of the WASM workloads of docs/benchmarks.md: the same logic as
-- the Rust SDK example rate_limit (GET, compare with the limit, INCR, EXPIRE on
-- the first hit) and a function that does nothing but return 1.

-- FCALL rate_limit 1 <key> <limit> <window_secs>: 1 = allowed, 0 = limited.
redis.register_function('rate_limit', function(keys, args)
  local limit = tonumber(args[1])
  local window_secs = tonumber(args[2])
  local count = tonumber(redis.call('GET', keys[1]) or '0')
  if count >= limit then
    return 0
  end
  local new_count = redis.call('INCR', keys[1])
  if new_count == 1 then
    redis.call('EXPIRE', keys[1], window_secs)
  end
  return 1
end)

-- FCALL noop 0: returns 1, touches nothing.
redis.register_function{
  function_name = 'noop',
  callback = function() return 1 end,
  flags = {'no-writes'},
}
