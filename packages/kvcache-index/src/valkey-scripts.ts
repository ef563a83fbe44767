import { createHash } from 'node:crypto';

/** A Lua script and its SHA1 (for EVALSHA). Every key a script touches is passed in KEYS. */
export interface LuaScript {
  name: string;
  lua: string;
  sha: string;
}

function script(name: string, lua: string): LuaScript {
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

// Fields are "<pod>@<tier>[#s][#g=<n>]"; a pod is everything before the last "@".
const POD_OF = `local function pod_of(f)
  local tierpart = string.match(f, '@([^@]*)$')
  if tierpart == nil then return f end
  return string.sub(f, 1, #f - #tierpart - 1)
end`;

/**
 * KEYS = request keys in prefix order; ARGV = [npods, pod...]. Walks the prefix and stops at the first
 * key with no (allowed) entry. Returns one array of fields per key found.
 */
export const LOOKUP = script(
  'lookup',
  // no-writes: runs as EVALSHA_RO, so a cluster client may send it to replicas
  `#!lua flags=no-writes
${POD_OF}
local n = tonumber(ARGV[1])
local allowed = nil
if n > 0 then
  allowed = {}
  for i = 2, n + 1 do allowed[ARGV[i]] = true end
end
local out = {}
for i = 1, #KEYS do
  local fields = redis.call('HKEYS', KEYS[i])
  local kept = fields
  if allowed ~= nil then
    kept = {}
    for _, f in ipairs(fields) do
      if allowed[pod_of(f)] then kept[#kept + 1] = f end
    end
  end
  if #kept == 0 then break end
  out[#out + 1] = kept
end
return out`,
);

/**
 * KEYS = [request keys (nR)..., engine keys (nE)..., pod sets (nP)...]
 * ARGV = [nR, nE, nP, ttl, nEnt, (field, podIndex)*nEnt, requestDecimal*nR, (count, requestDecimal*count)*nE]
 */
export const ADD = script(
  'add',
  `local nR, nE, nP, ttl, nEnt = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local a = 6
local hset = {}
local pods = {}
for i = 1, nEnt do
  hset[#hset + 1] = ARGV[a]
  hset[#hset + 1] = ''
  pods[tonumber(ARGV[a + 1])] = true
  a = a + 2
end
local members = {}
for i = 1, nR do members[i] = ARGV[a]; a = a + 1 end
for i = 1, nE do
  local ek = KEYS[nR + i]
  local c = tonumber(ARGV[a]); a = a + 1
  redis.call('DEL', ek)
  redis.call('RPUSH', ek, unpack(ARGV, a, a + c - 1))
  a = a + c
  if ttl > 0 then redis.call('EXPIRE', ek, ttl) end
end
for i = 1, nR do
  redis.call('HSET', KEYS[i], unpack(hset))
  if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
end
for p = 1, nP do
  if pods[p] then
    local pk = KEYS[nR + nE + p]
    for s = 1, nR, 1000 do redis.call('SADD', pk, unpack(members, s, math.min(s + 999, nR))) end
    if ttl > 0 and redis.call('TTL', pk) < ttl then redis.call('EXPIRE', pk, ttl) end
  end
end
return nR`,
);

const REMOVE_FN = `${POD_OF}
-- removes fields from a request key; drops the key from a pod's set when the pod has no entry left there
local function remove(rk, member, fields, podkeys, podnames)
  redis.call('HDEL', rk, unpack(fields))
  local left = {}
  for _, f in ipairs(redis.call('HKEYS', rk)) do left[pod_of(f)] = true end
  for i, pk in ipairs(podkeys) do
    if not left[podnames[i]] then redis.call('SREM', pk, member) end
  end
end`;

/**
 * KEYS = [engine key, request keys (nR)..., pod sets (nP)...]
 * ARGV = [nR, nP, requestDecimal*nR, podName*nP, field...]
 * Returns -1 when the engine mapping changed since the client read it (the client retries).
 */
export const EVICT_ENGINE = script(
  'evictEngine',
  `${REMOVE_FN}
local nR, nP = tonumber(ARGV[1]), tonumber(ARGV[2])
local current = redis.call('LRANGE', KEYS[1], 0, -1)
if #current ~= nR then return -1 end
for i = 1, nR do if current[i] ~= ARGV[2 + i] then return -1 end end
local podkeys, podnames, fields = {}, {}, {}
for i = 1, nP do podkeys[i] = KEYS[1 + nR + i]; podnames[i] = ARGV[2 + nR + i] end
for i = 3 + nR + nP, #ARGV do fields[#fields + 1] = ARGV[i] end
local alive = 0
for i = 1, nR do
  remove(KEYS[1 + i], ARGV[2 + i], fields, podkeys, podnames)
  if redis.call('EXISTS', KEYS[1 + i]) == 1 then alive = alive + 1 end
end
if alive == 0 then redis.call('DEL', KEYS[1]) end
return alive`,
);

/** KEYS = [request key, pod sets (nP)...]; ARGV = [requestDecimal, nP, podName*nP, field...] */
export const EVICT_REQUEST = script(
  'evictRequest',
  `${REMOVE_FN}
local nP = tonumber(ARGV[2])
local podkeys, podnames, fields = {}, {}, {}
for i = 1, nP do podkeys[i] = KEYS[1 + i]; podnames[i] = ARGV[2 + i] end
for i = 3 + nP, #ARGV do fields[#fields + 1] = ARGV[i] end
remove(KEYS[1], ARGV[1], fields, podkeys, podnames)
return 1`,
);

/**
 * KEYS = [pod set, request keys...]; ARGV = [pod, requestDecimal...]. Removes every field of the pod from
 * the given request keys (a batch of the pod set's members) and drops them from the set.
 */
export const CLEAR_BATCH = script(
  'clearBatch',
  `${POD_OF}
local pod = ARGV[1]
local removed = 0
for i = 2, #KEYS do
  local drop = {}
  for _, f in ipairs(redis.call('HKEYS', KEYS[i])) do
    if pod_of(f) == pod then drop[#drop + 1] = f end
  end
  if #drop > 0 then removed = removed + redis.call('HDEL', KEYS[i], unpack(drop)) end
  redis.call('SREM', KEYS[1], ARGV[i])
end
return removed`,
);
