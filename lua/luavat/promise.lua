-- luavat.promise: promises for vat code, settled in a per-delivery
-- microtask queue that the runtime drains before a delivery ends.
--
-- A promise is a table with a private metatable (vats see only the string
-- "Promise" from getmetatable).  resolve(p, q) with a promise q makes p
-- follow q.  p:await() suspends the running delivery until p settles;
-- p:next(ok, err) chains.  Settled state is visible at once to await, so
-- awaiting a settled promise never yields.

local M = {}

local AWAIT = {}          -- private marker yielded to the runtime
M.AWAIT = AWAIT

local Promise = {}
Promise.__index = Promise
Promise.__metatable = "Promise"
Promise.__name = "Promise"
M.mt = Promise

local pcall, type, select, tostring = pcall, type, select, tostring
local yield, isyieldable = coroutine.yield, coroutine.isyieldable
local setmetatable, getmetatable, rawget = setmetatable, getmetatable, rawget

-- ---- Microtasks ----

local q_fn, q_a, q_b, q_c = {}, {}, {}, {}
local q_head, q_tail = 1, 0

local function enqueue(fn, a, b, c)
    local t = q_tail + 1
    q_tail = t
    q_fn[t], q_a[t], q_b[t], q_c[t] = fn, a, b, c
end
M.enqueue = enqueue

-- Runs queued callbacks (and any they queue) until none are left.
function M.drain()
    while q_head <= q_tail do
        local h = q_head
        local fn, a, b, c = q_fn[h], q_a[h], q_b[h], q_c[h]
        q_fn[h], q_a[h], q_b[h], q_c[h] = nil, nil, nil, nil
        q_head = h + 1
        fn(a, b, c)
    end
    q_head, q_tail = 1, 0
end

-- ---- Core ----

local function isPromise(v)
    return type(v) == "table" and getmetatable(v) == "Promise"
        and rawget(v, "_state") ~= nil
end
M.isPromise = isPromise

-- The hash part is made for the fields nearly every promise gets (its
-- state, value, first callback and its argument; nil fields take no
-- entry but size the table): growing from one field rehashes each time.
local function new()
    return setmetatable({_state = "pending", _value = nil, _cb = nil,
                         _arg = nil}, Promise)
end
M.new = new

-- Registers cb(state, value) to run (as a microtask) once p settles.
local function whenSettled(p, cb, arg)
    local state = p._state
    if state ~= "pending" then
        enqueue(cb, state, p._value, arg)
        return
    end
    if p._cb == nil then
        p._cb, p._arg = cb, arg
        return
    end
    local n = (p._n or 0) + 1
    p._n = n
    p[n] = cb
    p[-n] = arg
end
M.whenSettled = whenSettled

local function settle(p, state, value)
    if p._state ~= "pending" then return end
    p._state, p._value = state, value
    local cb = p._cb
    if cb ~= nil then
        enqueue(cb, state, value, p._arg)
        p._cb, p._arg = nil, nil
    end
    local n = p._n
    if n then
        for i = 1, n do
            enqueue(p[i], state, value, p[-i])
            p[i], p[-i] = nil, nil
        end
        p._n = nil
    end
    local hook = p._onSettle
    if hook then
        p._onSettle = nil
        hook(p, state, value)
    end
end
M.settle = settle

local resolve
local followHook = function() end

-- liveslots hears when a promise starts following another (to let the
-- kernel forward exported promises).
function M.setFollowHook(fn)
    followHook = fn
end

local function follow(state, value, p)
    p._locked = nil
    if state == "fulfilled" then resolve(p, value)
    else settle(p, "rejected", value) end
end

-- True when v's chain of followed promises reaches p.  Chains never loop
-- (resolve refuses the link that would close one), so the walk ends.
local function leadsTo(v, p)
    while v ~= p and v._follows and v._state == "pending" do
        v = v._follows
    end
    return v == p
end

resolve = function(p, v)
    if p._state ~= "pending" or p._locked then return end
    if isPromise(v) then
        if leadsTo(v, p) then
            settle(p, "rejected", "promise cycle: a promise was resolved "
                   .. "to a promise that follows it")
            return
        end
        p._locked = true
        p._follows = v
        whenSettled(v, follow, p)
        followHook(p)
        return
    end
    settle(p, "fulfilled", v)
end
M.resolve = resolve

function M.reject(p, reason)
    if p._state ~= "pending" or p._locked then return end
    settle(p, "rejected", reason)
end

-- The promise at the end of a chain of locally followed promises.
function M.tail(p)
    while p._follows and p._state == "pending" do p = p._follows end
    return p
end

function M.state(p)
    return p._state, p._value
end

-- ---- Methods vats use ----

local function runHandler(state, value, job)
    local out, onOk, onErr = job[1], job[2], job[3]
    local h = state == "fulfilled" and onOk or onErr
    if h == nil then
        if state == "fulfilled" then resolve(out, value)
        else settle(out, "rejected", value) end
        return
    end
    local ok, r = pcall(h, value)
    if ok then resolve(out, r) else settle(out, "rejected", r) end
end

function Promise:next(onOk, onErr)
    local out = new()
    whenSettled(self, runHandler, {out, onOk, onErr})
    return out
end

function Promise:catch(onErr)
    return self:next(nil, onErr)
end

function Promise:finally(fn)
    return self:next(function(v) fn() return v end,
                     function(e) fn() error(e, 0) end)
end

function Promise:await()
    local state = self._state
    if state == "fulfilled" then return self._value end
    if state == "rejected" then error(self._value, 0) end
    if not isyieldable() then
        error("cannot await here (not inside a delivery's coroutine: a "
              .. "metamethod, sort comparator, required chunk or "
              .. "buildRootObject cannot wait)", 2)
    end
    local st, value = yield(AWAIT, self)
    if st == "fulfilled" then return value end
    error(value, 0)
end

function Promise:__tostring()
    local v = self._state == "pending" and "" or (" " .. tostring(self._value))
    return "Promise<" .. self._state .. v .. ">"
end

-- ---- The vat's Promise global ----

local api = {}

function api.kit()
    local p = new()
    return {
        promise = p,
        resolve = function(v) resolve(p, v) end,
        reject = function(e) M.reject(p, e) end,
    }
end

function api.resolve(v)
    if isPromise(v) then return v end
    local p = new()
    resolve(p, v)
    return p
end

function api.reject(e)
    local p = new()
    settle(p, "rejected", e)
    return p
end

local function allStep(state, value, job)
    local agg = job[1]
    if agg.done then return end
    if state == "rejected" then
        agg.done = true
        settle(agg.out, "rejected", value)
        return
    end
    agg.values[job[2]] = value
    agg.left = agg.left - 1
    if agg.left == 0 then
        agg.done = true
        -- A plain list (as in JavaScript), so a method can return it.
        settle(agg.out, "fulfilled", agg.values)
    end
end

function api.all(list)
    local out = new()
    local n = list.n or #list
    local agg = {out = out, values = {}, left = n, n = n}
    if n == 0 then
        settle(out, "fulfilled", {})
        return out
    end
    for i = 1, n do
        local v = list[i]
        if isPromise(v) then whenSettled(v, allStep, {agg, i})
        else enqueue(allStep, "fulfilled", v, {agg, i}) end
    end
    return out
end

function api.isPromise(v)
    return isPromise(v)
end

M.api = api

return M
