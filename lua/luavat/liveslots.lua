-- luavat.liveslots: the vat side of the kernel protocol.  It keeps the
-- tables that map vat refs to Lua values (shared with the C marshaller),
-- runs each delivery's method in a pooled coroutine, settles promises from
-- notify deliveries, and turns every result into a resolve syscall.
--
-- Runs in a private environment: `sys` (the C syscalls and helpers) plus
-- standard functions captured before vat code could touch anything.

local P = import("luavat.promise")
local sys = sys

local type, pcall, error, select, tostring = type, pcall, error, select, tostring
local unpack, pack = table.unpack, table.pack
local create, status = coroutine.create, coroutine.status
local yield, running = coroutine.yield, coroutine.running
local isyieldable = coroutine.isyieldable
local resume = sys.resume
local setmetatable, next = setmetatable, next
local isPromise, AWAIT = P.isPromise, P.AWAIT
local newPromise, settle, whenSettled = P.new, P.settle, P.whenSettled
local drain = P.drain

local slotToVal = sys.slotToVal   -- vref -> value (weak values)
local valToSlot = sys.valToSlot   -- value -> vref (weak keys)
local remotables = sys.remotables -- Far object -> interface name (weak keys)
local exports = {}                -- vref -> exported object (strong)
-- Promises the kernel will notify us about are held strongly until then:
-- an awaiting coroutine may be the only thing that refers to them.
local awaited = {}
local runtimeThreads = setmetatable({}, {__mode = "k"})

local R = {}
local nextObj, nextProm = 1, 1
local vatName = "?"
local DONE = {}

-- ---- Refs ----

local function allocPromiseVref()
    local v = "p+" .. nextProm
    nextProm = nextProm + 1
    return v
end

local function forget(vref)
    awaited[vref] = nil
    local v = slotToVal[vref]
    if v ~= nil then
        slotToVal[vref] = nil
        if valToSlot[v] == vref then valToSlot[v] = nil end
    end
end

-- Rejections travel as error records when they are strings or carry a
-- message; resolve syscalls that cannot marshal their value reject instead.
local function resolveVpid(vref, rejected, value)
    local ok, err = pcall(sys.resolve, vref, rejected, value)
    if not ok then
        sys.resolve(vref, true, tostring(err))
    end
    local local_ = slotToVal[vref]
    forget(vref)
    if local_ ~= nil and isPromise(local_) then
        settle(local_, rejected and "rejected" or "fulfilled", value)
    end
end

local function onExportSettled(state, value, vref)
    resolveVpid(vref, state == "rejected", value)
end

-- C calls this when marshalling meets a Far object or a promise that has
-- no vref yet.
function R.exportVal(v)
    if remotables[v] ~= nil then
        local vref = "o+" .. nextObj
        nextObj = nextObj + 1
        valToSlot[v], slotToVal[vref], exports[vref] = vref, v, v
        return vref
    end
    local vref = allocPromiseVref()
    valToSlot[v], slotToVal[vref] = vref, v
    whenSettled(v, onExportSettled, vref)
    return vref
end

-- C calls this for a promise vref it has no value for: a new import.
function R.importPromise(vref, subscribe)
    local p = newPromise()
    slotToVal[vref], valToSlot[p] = p, vref
    if subscribe then
        sys.subscribe(vref)
        awaited[vref] = p
    end
    return p
end

-- A promise for the result of a send this vat just made.
function R.resultPromise(vref)
    local p = newPromise()
    slotToVal[vref], valToSlot[p], awaited[vref] = p, vref, p
    return p
end

-- ---- Jobs: one pooled coroutine per running method ----

local pool, npool = {}, 0
local step

local function finish(resultVref, ok, r)
    if resultVref == nil then
        if not ok then sys.log("error in a one-way message: " .. tostring(r)) end
        return
    end
    if ok and isPromise(r) then
        local t = P.tail(r)
        local st, value = P.state(t)
        if st == "pending" then
            resolveVpid(resultVref, false, t)   -- the kernel forwards to it
            return
        end
        ok, r = st == "fulfilled", value
    end
    resolveVpid(resultVref, not ok, r)
end

local function worker(fn, obj, args, n, resultVref)
    while true do
        local ok, r = pcall(fn, obj, unpack(args, 1, n))
        finish(resultVref, ok, r)
        fn, obj, args, n, resultVref = yield(DONE)
    end
end

local function onAwaited(state, value, co)
    step(co, resume(co, state, value))
end

step = function(co, ok, a, b)
    if not ok then error(a, 0) end          -- killed or out of memory
    if a == DONE then
        npool = npool + 1
        pool[npool] = co
    elseif a == AWAIT then
        whenSettled(b, onAwaited, co)
    else
        error("a vat method yielded without awaiting", 0)
    end
end

local function runJob(fn, obj, args, n, resultVref)
    local co
    if npool > 0 then
        co = pool[npool]
        pool[npool] = nil
        npool = npool - 1
    else
        co = create(worker)
        runtimeThreads[co] = true
    end
    step(co, resume(co, fn, obj, args, n, resultVref))
end
R.runJob = runJob

function R.isRuntimeThread(co)
    return runtimeThreads[co] == true
end

-- ---- Deliveries ----

local function noMethod(obj, method)
    return function()
        error(("%s has no method %q"):format(remotables[obj] or "object",
              tostring(method)), 0)
    end
end

local function deliverMessage(target, method, args, n, resultVref)
    local obj = slotToVal[target]
    if obj == nil then
        error(vatName .. " has no object " .. target, 0)
    end
    local fn = type(method) == "string" and obj[method] or nil
    if type(fn) ~= "function" then fn = noMethod(obj, method) end
    runJob(fn, obj, args, n, resultVref)
end

local function deliverNotify(list)
    -- Make a promise for every vpid first: values may name each other.
    for i = 1, #list do
        local r = list[i]
        local p = slotToVal[r[1]]
        if p == nil then p = R.importPromise(r[1], false) end
        r[5] = p
    end
    for i = 1, #list do
        local r = list[i]
        local ok, value = pcall(sys.decode, r[3], r[4])
        local rejected = r[2]
        if not ok then rejected, value = true, value end
        forget(r[1])
        local p = r[5]
        if rejected then P.reject(p, value) else P.resolve(p, value) end
    end
end

local function dropExports(list)
    for i = 1, #list do exports[list[i]] = nil end
end

local function retireExports(list)
    for i = 1, #list do
        exports[list[i]] = nil
        forget(list[i])
    end
end

function R.dispatch(kind, a, b, c, d, e)
    if kind == "m" then
        deliverMessage(a, b, c, d, e)
    elseif kind == "n" then
        deliverNotify(a)
    elseif kind == "s" then
        R.start(a, b, c, d)
    elseif kind == "d" then
        dropExports(a)
    elseif kind == "r" then
        retireExports(a)
    elseif kind == "i" then
        for i = 1, #a do forget(a[i]) end
    elseif kind == "g" then
        R.reap()
    end
    drain()
end

-- ---- Garbage collection of imports ----

function R.reap()
    sys.gcFull()
    local dead = sys.deadImports()
    local drops, n = {}, 0
    for i = 1, #dead do
        local vref = dead[i]
        if slotToVal[vref] == nil and not R.heldByBaggage(vref) then
            n = n + 1
            drops[n] = vref
        end
    end
    if n > 0 then
        sys.dropImports(drops)
        sys.retireImports(drops)
    end
end

R.heldByBaggage = function() return false end

-- ---- Start ----

function R.start(params, nObj, nProm, incarnation)
    nextObj, nextProm = nObj, nProm
    vatName = sys.vatName()
    local main = sys.requireMain()
    if type(main) ~= "table" or type(main.buildRootObject) ~= "function" then
        error(sys.mainChunk() .. ": the main chunk must return a table with "
              .. "a buildRootObject function", 0)
    end
    local baggage = R.baggage
    local root = main.buildRootObject(R.vatPowers, params, baggage,
                                      incarnation)
    if type(root) ~= "table" then
        error(sys.mainChunk() .. ": buildRootObject returned "
              .. type(root) .. ", not an object (return Far(\"Name\", {...}))", 0)
    end
    if remotables[root] == nil then remotables[root] = vatName end
    valToSlot[root], slotToVal["o+0"], exports["o+0"] = "o+0", root, root
end

R.allocPromiseVref = allocPromiseVref
R.exports = exports
R.forget = forget
R.resolveVpid = resolveVpid

return R
