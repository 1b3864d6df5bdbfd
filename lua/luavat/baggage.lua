-- luavat.baggage: the vat's durable map, read and written directly in the
-- kernel's store through vatstore syscalls (nothing is loaded at start).
-- Values are deep copies of passable data plus presences; promises and
-- the vat's own (ephemeral) objects are refused with a reason.  Presences
-- kept here are counted so garbage collection never drops them.

local sys = sys
local type, error, tostring, select = type, error, tostring, select
local pcall, encodeDurable, vsGet, vsSet = pcall, sys.encodeDurable, sys.vsGet,
    sys.vsSet
local vsPutDurable = sys.vsPutDurable
-- has, init and delete never read a value into the heap (it may be
-- nearly as large as the memory cap): vsHas and vsSlots look in place.
local vsHas, vsSlots = sys.vsHas, sys.vsSlots
local tonumber = tonumber
-- The runtime's own string functions, called as functions (llibs.c): a
-- string's methods are the vat's, and this module loads after vat code
-- has run.
local format, sub = string.format, string.sub

local PREFIX = "b."      -- baggage entries
local refKey = sys.refKey -- "rc.o-5": how many baggage values name an
                          -- import (lvat_lua_held_by_baggage reads it)
local MAX_KEY = 400      -- bytes of a key (design §6), after PREFIX

local M = {}

local function checkKey(k, what)
    if type(k) ~= "string" then
        error(format("baggage:%s(key): the key must be a string, not %s",
                     what, type(k)), 3)
    end
    if #k == 0 or #k > MAX_KEY then
        error(format("baggage:%s(key): keys must have 1 to %d bytes", what,
                     MAX_KEY), 3)
    end
end

-- An import baggage stops naming goes to the next reap: nothing else
-- would report it if its presence was collected while baggage held it.
local function addRefs(slots, delta)
    for i = 1, #slots do
        local key = refKey(slots[i])
        if key ~= nil then
            local n = (tonumber(sys.vsGet(key) or "0") or 0) + delta
            if n > 0 then
                sys.vsSet(key, tostring(n))
            else
                sys.vsDelete(key)
                sys.noteUnheld(slots[i])
            end
        end
    end
end

local methods = {}

-- get is C (lvatstore.c's baggageGetter makes it): the key test, the
-- prefix join, the store read and the decode, with the same errors as
-- checkKey's.  set tests the key inline (a call to checkKey for every
-- write was a tenth of its Lua side).
methods.get = sys.baggageGetter(PREFIX, MAX_KEY)

function methods:has(k)
    checkKey(k, "has")
    return vsHas(PREFIX .. k)
end

-- Called by set and init (not as a tail call): level 3 is their caller,
-- whose file and line the message then names.
local function store(k, v, what)
    -- The message names the call only when it fails (no formatting per set).
    local ok, old, new = pcall(vsPutDurable, PREFIX, k, v)
    if not ok then
        error(format("baggage:%s(%q)", what, k) .. tostring(old), 3)
    end
    if old ~= nil then addRefs(old, -1) end
    if new ~= nil then addRefs(new, 1) end
end

function methods:set(k, v)
    if type(k) ~= "string" or #k == 0 or #k > MAX_KEY then
        checkKey(k, "set")
    end
    store(k, v, "set")
end

function methods:init(k, v)
    checkKey(k, "init")
    if vsHas(PREFIX .. k) then
        error(format("baggage:init(%q): the key already exists (use set to "
                     .. "replace it)", k), 2)
    end
    store(k, v, "init")
end

function methods:delete(k)
    checkKey(k, "delete")
    local slots = vsSlots(PREFIX .. k)
    if slots == nil then return false end
    addRefs(slots, -1)
    sys.vsDelete(PREFIX .. k)
    return true
end

local function noKeys() return nil end

-- for key in baggage:keys([prefix]) do ... end, in byte order.  Each step
-- asks the store for the next key after the last, so no cursor is held.
function methods:keys(prefix)
    prefix = prefix or ""
    if type(prefix) ~= "string" then
        error("baggage:keys(prefix): the prefix must be a string", 2)
    end
    -- No key has a longer prefix, and the store refuses so long a key.
    if #prefix > MAX_KEY then return noKeys end
    local last = PREFIX .. prefix
    local first = true
    return function()
        local key
        if first then
            first = false
            key = sys.vsNext(last, PREFIX .. prefix, true)
        else
            key = sys.vsNext(last, PREFIX .. prefix, false)
        end
        if key == nil then return nil end
        last = key
        return sub(key, #PREFIX + 1)
    end
end

M.methods = methods

return M
