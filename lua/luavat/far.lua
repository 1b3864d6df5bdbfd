-- luavat.far: Far objects and eventual sends.  Far(iface, methods) marks a
-- table as a remotable object other vats can hold.  E(x):method(...) sends
-- at once and returns a promise: to a presence through the kernel, to a
-- promise the kernel knows by pipelining, to a local object in a later
-- turn of this vat.

local P = import("luavat.promise")
local L = import("luavat.liveslots")
local sys = sys

local type, select, error, tostring = type, select, error, tostring
local setmetatable, getmetatable, rawget = setmetatable, getmetatable, rawget
local pack, unpack = table.pack, table.unpack
local isPromise, newPromise = P.isPromise, P.new
local remotables, valToSlot, slotToVal = sys.remotables, sys.valToSlot,
    sys.slotToVal
local isPresence, presenceVref = sys.isPresence, sys.presenceVref

local M = {}

function M.Far(iface, obj)
    if type(iface) ~= "string" then
        error("Far(iface, methods): iface must be a string", 2)
    end
    if obj == nil then obj = {} end
    if type(obj) ~= "table" then
        error("Far(iface, methods): methods must be a table", 2)
    end
    if isPromise(obj) then
        error("Far(iface, methods): a promise cannot be a Far object", 2)
    end
    remotables[obj] = iface
    return obj
end

local send

local function sendToVref(vref, method, args)
    return L.resultPromise(L.send(vref, method, args))
end

-- A send to one of this vat's own objects runs in a later turn, as its
-- own job; the job settles the promise (or rejects it if the method
-- raises or is missing).
local function sendLocal(obj, method, args)
    local p = newPromise()
    P.enqueue(function()
        L.runJob(L.methodOf(obj, method), obj, args, args.n, p)
    end)
    return p
end

local function sendToPromise(target, method, args)
    local t = P.tail(target)
    local st, value = P.state(t)
    if st == "fulfilled" then return send(value, method, args) end
    if st == "rejected" then
        local p = newPromise()
        P.reject(p, value)
        return p
    end
    local vref = valToSlot[t]
    if vref ~= nil then return sendToVref(vref, method, args) end
    return t:next(function(v) return send(v, method, args) end)
end

send = function(target, method, args)
    if isPresence(target) then
        return sendToVref(presenceVref(target), method, args)
    end
    if type(target) == "table" then
        if isPromise(target) then return sendToPromise(target, method, args) end
        if remotables[target] ~= nil then
            return sendLocal(target, method, args)
        end
    end
    local p = newPromise()
    P.reject(p, "E(x): x is " .. type(target)
             .. ", not a presence, Far object or promise")
    return p
end

-- E(x) returns a small proxy whose methods send; they are shared by all
-- proxies, so E(x):m() costs one proxy table and one send.
local methodCache = {}
local Proxy = {__metatable = "E proxy"}

function Proxy.__index(proxy, method)
    local f = methodCache[method]
    if f == nil then
        f = function(self, ...)
            if getmetatable(self) ~= "E proxy" then
                error("call E(x):" .. tostring(method) .. "(...) with a colon", 2)
            end
            local args = pack(...)
            return send(rawget(self, 1), method, args)
        end
        methodCache[method] = f
    end
    return f
end

-- E.sendOnly(x):m(...) sends without a result: no promise is made, the
-- receiver's answer (or error) goes nowhere.  Cheaper for fire-and-forget.
local sendOnly

local function sendOnlyTo(target, method, args)
    if isPresence(target) then
        return L.sendOnly(presenceVref(target), method, args)
    end
    if type(target) == "table" then
        if isPromise(target) then
            local t = P.tail(target)
            local st, value = P.state(t)
            if st == "fulfilled" then return sendOnly(value, method, args) end
            if st == "rejected" then return end
            local vref = valToSlot[t]
            if vref ~= nil then return L.sendOnly(vref, method, args) end
            t:next(function(v) sendOnly(v, method, args) end)
            return
        end
        if remotables[target] ~= nil then
            P.enqueue(function()
                L.runJob(L.methodOf(target, method), target, args, args.n,
                         nil)
            end)
            return
        end
    end
    error("E.sendOnly(x): x is " .. type(target)
          .. ", not a presence, Far object or promise", 3)
end
sendOnly = sendOnlyTo

local onlyCache = {}
local OnlyProxy = {__metatable = "E.sendOnly proxy"}

function OnlyProxy.__index(proxy, method)
    local f = onlyCache[method]
    if f == nil then
        f = function(self, ...)
            if getmetatable(self) ~= "E.sendOnly proxy" then
                error("call E.sendOnly(x):" .. tostring(method)
                      .. "(...) with a colon", 2)
            end
            sendOnlyTo(rawget(self, 1), method, pack(...))
        end
        onlyCache[method] = f
    end
    return f
end

-- E is callable (E(x)) and has E.sendOnly(x).
M.E = setmetatable({
    sendOnly = function(target) return setmetatable({target}, OnlyProxy) end,
}, {
    __call = function(_, target) return setmetatable({target}, Proxy) end,
    __metatable = "E",
})

M.send = send
return M
