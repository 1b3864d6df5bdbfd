-- luavat.vatenv: the runtime's globals in a vat's environment (Far, E,
-- Promise, coroutine) and its vatPowers.  The coroutine functions pass the
-- runtime's await marker outward, so vat coroutines and await compose,
-- and refuse to touch the runtime's own threads.

local P = import("luavat.promise")
local F = import("luavat.far")
local L = import("luavat.liveslots")
local sys = sys

local pack, unpack = table.pack, table.unpack
local create, status, running = coroutine.create, coroutine.status,
    coroutine.running
local yield, isyieldable, close = coroutine.yield, coroutine.isyieldable,
    coroutine.close
local resume = sys.resume
local error, select, tostring, type = error, select, tostring, type
local AWAIT = P.AWAIT
local isRuntime = L.isRuntimeThread

local M = {}

local function resumePassingAwait(co, ...)
    if isRuntime(co) then
        return false, "cannot resume a thread of the runtime"
    end
    local r = pack(resume(co, ...))
    while r[1] and r[2] == AWAIT and status(co) == "suspended" do
        if not isyieldable() then
            return false, "cannot await here"
        end
        local back = pack(yield(AWAIT, r[3]))
        r = pack(resume(co, unpack(back, 1, back.n)))
    end
    return unpack(r, 1, r.n)
end

local function vatCoroutine()
    local co = {}
    co.create = function(f)
        if type(f) ~= "function" then
            error("coroutine.create: a function is needed", 2)
        end
        return create(f)
    end
    co.resume = resumePassingAwait
    co.wrap = function(f)
        local th = co.create(f)
        return function(...)
            local r = pack(resumePassingAwait(th, ...))
            if r[1] then return unpack(r, 2, r.n) end
            error(r[2], 0)
        end
    end
    co.yield = function(...)
        if isRuntime(running()) then
            error("attempt to yield from outside a coroutine", 2)
        end
        return yield(...)
    end
    co.isyieldable = function()
        return not isRuntime(running()) and isyieldable()
    end
    co.status = function(th)
        return status(th)
    end
    co.running = running
    co.close = function(th)
        if isRuntime(th) then
            error("cannot close a thread of the runtime", 2)
        end
        return close(th)
    end
    return co
end

local function vatPowers()
    local vp = {}
    vp.log = function(...)
        local n = select("#", ...)
        local parts = {}
        for i = 1, n do parts[i] = tostring((select(i, ...))) end
        sys.log(table.concat(parts, "\t"))
    end
    vp.exit = function(failure, info)
        sys.exit(failure and true or false, info)
    end
    return vp
end

-- The baggage object; its methods load on first use, so a vat that never
-- touches its baggage never holds them (the host object hides the table).
local function lazyBaggage()
    local methods = {}
    setmetatable(methods, {__index = function(t, k)
        for name, f in pairs(import("luavat.baggage").methods) do
            rawset(t, name, f)
        end
        setmetatable(t, nil) -- only once the copy is whole
        return rawget(t, k)
    end})
    return sys.newHostObject(methods, "baggage")
end

-- Whether baggage holds a reference to vref: its "rc." count (see
-- baggage.lua), read without loading the module into a vat that never
-- used its baggage in this incarnation.
local function heldByBaggage(vref)
    return sys.vsGet("rc." .. vref) ~= nil
end

function M.install(env)
    env.Far = F.Far
    env.E = F.E
    local api = {}
    for k, v in pairs(P.api) do api[k] = v end
    env.Promise = api
    env.coroutine = vatCoroutine()
    L.vatPowers = vatPowers()
    L.baggage = lazyBaggage()
    L.heldByBaggage = heldByBaggage
end

return M
