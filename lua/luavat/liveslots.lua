-- luavat.liveslots: the vat side of the kernel protocol, what of it is
-- not in C (bindings/lrt.h): exports and their rollback, exported promises
-- that settle or follow others, the body of a delivery thread, the methods
-- of an object, the deliveries other than messages and notifies, reaping
-- and start.
--
-- Runs in a private environment: `sys` (the C syscalls and helpers) plus
-- standard functions captured before vat code could touch anything.

local P = import("luavat.promise")
local sys = sys

local type, pcall, error, tostring = type, pcall, error, tostring
-- String functions are called as functions from the runtime's own string
-- (llibs.c), never as methods: a string's methods are the vat's string
-- table, which vat code may change.
local find, format = string.find, string.format
local yield = coroutine.yield
local rawget = rawget
local whenSettled = P.whenSettled
local drain = P.drain

-- A vref is an integer here (its bits, bindings/lvref.h); sys.vrefKind
-- and sys.exportVref read and make them.  An import awaiting its notify
-- is held by the C runtime (lnotify.c), and a promise carries its own
-- vref (sys.vrefOf, sys.bindPromise).
local slotToVal = sys.slotToVal   -- vref -> value (weak values)
local valToSlot = sys.valToSlot   -- exported object -> vref (weak keys)
local vrefOf, bindPromise = sys.vrefOf, sys.bindPromise
local remotables = sys.remotables -- Far object -> interface name (weak keys)
local exports = {}                -- vref -> exported object (strong)
local exportVref, vrefKind = sys.exportVref, sys.vrefKind
local ROOT = exportVref(false, 0) -- o+0

-- Every field R gets (vatPowers, baggage and heldByBaggage are set by
-- bindings/lvatenv.c), so the table is made at its final size: filled one
-- field at a time, it was rehashed five times in every vat.
local R = {
    rollback = false, failedReason = false, exportVal = false,
    worker = false, logOneWayError = false, methodOf = false,
    dispatch = false, reap = false, start = false, heldByBaggage = false,
    vatPowers = false, baggage = false,
}
-- Export numbers (o+N, p+N) are counted in C (lsyscall.c).
local allocPromiseVref, promiseCounter = sys.allocPromise, sys.promiseCounter
local allocObject, objCounter = sys.allocObject, sys.objCounter
local vatName = "?"

-- ---- Refs ----

-- Retires a vref: what this vat knew by it forgets it (lnotify.c).
local forget = sys.forget

-- Marshalling may allocate export vrefs (o+N, p+N) and then fail half-way
-- (an unpassable value further on).  The kernel never saw those numbers,
-- so a failed marshal gives them back (lvat_lua_pcall_marshal calls this):
-- a value left mapped to one would later name a number below one the
-- kernel has seen, which it refuses as a reuse.
local function rollback(o, p)
    for i = o, objCounter() - 1 do
        local vref = exportVref(false, i)
        exports[vref] = nil
        forget(vref)
    end
    for i = p, promiseCounter() - 1 do forget(exportVref(true, i)) end
    objCounter(o)
    promiseCounter(p)
end
R.rollback = rollback

-- Rejections travel as error records when they are strings or carry a
-- message.  sys.resolveVpid (lresolve.c) makes the resolve syscall, with
-- the settled promises the value exports in the same batch, forgets the
-- vpids and settles this vat's own promise for the first.  A value that
-- cannot be marshalled gives back the export numbers it took and rejects
-- its vpid instead, with the reason this words: for a rejection, the
-- value's own text (an error object's __tostring) says more than the
-- marshalling error, unless it is only the default "table: 0x..." form.
local resolveVpid = sys.resolveVpid

function R.failedReason(rejected, value, err)
    if rejected then
        local ok, s = pcall(tostring, value)
        if ok and type(s) == "string" and not find(s, "^[%w%.]+: 0x%x+$") then
            return s
        end
    end
    return tostring(err)
end

-- An exported promise settled.  Its vref is looked up now: a promise the
-- kernel already forwards elsewhere (see onFollow), or whose export was
-- rolled back, has none and needs no resolve.
local function onExportSettled(state, value, p)
    local vref = vrefOf(p)
    if vref ~= nil and slotToVal[vref] == p then
        resolveVpid(vref, state == "rejected", value)
    end
end

-- An exported promise now follows another promise.  When the end of that
-- chain is a promise the kernel knows (an import or a send's result), the
-- export is resolved to it at once, so the kernel forwards: messages
-- queued on the export move there, a cycle through other vats is seen by
-- the kernel, and this vat stops deciding it.  A purely local chain is
-- left to settle here.
local function onFollow(p)
    local vref = vrefOf(p)
    if vref == nil or slotToVal[vref] ~= p or vrefKind(vref) ~= "p+" then
        return
    end
    local t = P.tail(p)
    if t ~= p and P.state(t) == "pending" and vrefOf(t) ~= nil then
        sys.resolve(vref, false, t)
        forget(vref)
    end
end
P.setFollowHook(onFollow)

-- C calls this when marshalling meets a Far object or a promise that has
-- no vref yet.  A promise that already follows another one is sent as the
-- end of its chain.
function R.exportVal(v)
    if remotables[v] ~= nil then
        local vref = allocObject()
        valToSlot[v], slotToVal[vref], exports[vref] = vref, v, v
        return vref
    end
    local t = P.tail(v)
    if t ~= v then
        return vrefOf(t) or R.exportVal(t)
    end
    local vref = allocPromiseVref()
    bindPromise(v, vref)
    whenSettled(v, onExportSettled, v)
    return vref
end

-- ---- Jobs: one pooled coroutine per running method (ljobs.c) ----

-- The body of every delivery thread: run the method, hand its outcome to
-- finish (it resolves the message's result), wait for the next job.  The
-- arguments come as they are (no table per message); the thread waits
-- in a frame of its own, reached by a tail call, so an idle thread keeps
-- nothing of its last job alive.
local finish, DONE = sys.finish, sys.DONE
local worker

local function nextJob()
    return worker(yield(DONE))
end

function worker(fn, obj, resultVref, ...)
    local ok, r = pcall(fn, obj, ...)
    finish(resultVref, ok, r)
    return nextJob()
end
R.worker = worker

function R.logOneWayError(r)
    local ok, text = pcall(tostring, r)
    sys.log("error in a one-way message: "
            .. (ok and type(text) == "string" and text or "(unprintable)"))
end

-- ---- Deliveries ----

local function noMethod(obj, method)
    return function()
        error(format("%s has no method %q", remotables[obj] or "object",
                     tostring(method)), 0)
    end
end

local function index(obj, key) return obj[key] end

-- The method of obj, or a function that raises why there is none.  An
-- __index that raises is the vat's error, so it rejects the result
-- instead of failing the delivery.
local function methodOf(obj, method)
    if type(method) ~= "string" then return noMethod(obj, method) end
    local fn = rawget(obj, method)
    if fn == nil then
        local ok, f = pcall(index, obj, method)
        if not ok then return function() error(f, 0) end end
        fn = f
    end
    if type(fn) ~= "function" then return noMethod(obj, method) end
    return fn
end
R.methodOf = methodOf

-- Exports the kernel dropped ("d") or retired ("r"), imports it retired
-- ("i").
function R.dispatch(kind, a, b, c, d, e)
    if kind == "s" then
        R.start(a, b, c, d, e)
    elseif kind == "d" then
        for i = 1, #a do exports[a[i]] = nil end
    elseif kind == "r" then
        for i = 1, #a do
            exports[a[i]] = nil
            forget(a[i])
        end
    elseif kind == "i" then
        for i = 1, #a do forget(a[i]) end
    elseif kind == "g" then
        R.reap()
    end
    drain()
end

-- ---- Garbage collection of imports ----

-- Drops and retires the imports of `vrefs` that nothing here holds: no
-- presence in the heap, no baggage value naming them.  A vref may come
-- twice (its presence collected and baggage letting go of it, or two
-- presences in turn): a second drop would be an illegal syscall.
local function dropUnheld(vrefs)
    local drops, n, seen = {}, 0, {}
    for i = 1, #vrefs do
        local vref = vrefs[i]
        if slotToVal[vref] == nil and not seen[vref]
                and not R.heldByBaggage(vref) then
            n = n + 1
            drops[n] = vref
            seen[vref] = true
        end
    end
    if n > 0 then
        sys.dropImports(drops)
        sys.retireImports(drops)
    end
end

function R.reap()
    sys.gcFull()
    dropUnheld(sys.deadImports())
end

-- ---- Start ----

-- imports: after a restart, the objects earlier heaps imported.  This
-- heap can reach only those its baggage holds; the kernel would keep the
-- others alive for ever unless they are dropped now.
function R.start(params, nObj, nProm, incarnation, imports)
    objCounter(nObj)
    promiseCounter(nProm)
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
    valToSlot[root], slotToVal[ROOT], exports[ROOT] = ROOT, root, root
    if imports then dropUnheld(imports) end
end

return R
