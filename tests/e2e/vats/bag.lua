-- Baggage probes: every method returns what the vat saw, or the error
-- baggage raised, so the test can check both.
local function try(f, ...)
    local ok, r = pcall(f, ...)
    if ok then return r end
    return "error: " .. tostring(r)
end

return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local root
        root = Far("Bag", {
            bootstrap = function(self, vats)
                baggage:init("peer", vats.peer)
                return "ready"
            end,
            set = function(self, k, v) baggage:set(k, v) return true end,
            get = function(self, k) return baggage:get(k) end,
            has = function(self, k) return baggage:has(k) end,
            delete = function(self, k) return baggage:delete(k) end,
            init = function(self, k, v)
                return try(function() baggage:init(k, v) return "ok" end)
            end,
            keys = function(self, prefix)
                local out = {}
                for k in baggage:keys(prefix) do out[#out + 1] = k end
                return out
            end,
            -- Deletes while iterating: each step looks up the next key.
            drain = function(self, prefix)
                local n = 0
                for k in baggage:keys(prefix) do
                    baggage:delete(k)
                    n = n + 1
                end
                return n
            end,
            copyIsolated = function(self)
                local t = { a = { 1, 2 } }
                baggage:set("t", t)
                t.a[1] = 99
                local g1 = baggage:get("t")
                g1.a[2] = 77
                local g2 = baggage:get("t")
                return { g2.a[1], g2.a[2], rawequal(g1, g2) }
            end,
            floatBack = function(self)
                baggage:set("f", 3.0)
                baggage:set("g", 2.5)
                return { math.type(baggage:get("f")), math.type(baggage:get("g")) }
            end,
            refuse = function(self, what)
                local v
                if what == "promise" then v = Promise.kit().promise
                elseif what == "far" then v = Far("Mine", {})
                elseif what == "fn" then v = { deep = { print } }
                elseif what == "cycle" then v = {}; v.me = v
                elseif what == "meta" then v = setmetatable({}, {})
                elseif what == "longkey" then
                    return try(function() baggage:set(("k"):rep(401), 1) end)
                elseif what == "badkey" then
                    return try(function() baggage:set(7, 1) end)
                elseif what == "getbadkey" then
                    return try(function() local v = baggage:get({}) return v end)
                elseif what == "getemptykey" then
                    return try(function() local v = baggage:get("") return v end)
                elseif what == "getnokey" then
                    return try(function() local v = baggage:get() return v end)
                elseif what == "getnumberkey" then
                    return try(function() local v = baggage:get(5) return v end)
                elseif what == "getlongkey" then
                    return try(function()
                        local v = baggage:get(("k"):rep(401)) return v end)
                elseif what == "getlongestkey" then
                    return tostring(baggage:get(("k"):rep(400)))
                elseif what == "gettailcall" then
                    -- a tail call to get (C) keeps this frame: its line is named
                    return "<" .. try(function() return baggage:get(true) end)
                elseif what == "getfrompcall" then
                    local ok, err = pcall(baggage.get, baggage, {})
                    return tostring(ok) .. " " .. tostring(err)
                elseif what == "getdotcall" then
                    -- get(key) without self: the key is the missing second
                    return try(function() local v = baggage.get("k") return v end)
                end
                return try(function() baggage:set("x", v) end)
            end,
            -- Plain values (the fast decoder's) and others (the pull
            -- parser's) come back as set.
            roundTrip = function(self)
                local big = {}
                for i = 1, 17 do big[i] = i end
                local rec = {}
                for i = 1, 17 do rec["f" .. i] = i end
                local values = {
                    { i = 1, s = "value" }, { 1, 2, 3 }, "", "!x", "$0",
                    -0.0, 2.5, -123456789012345678, 1234567890123456789,
                    "a\nb\1", { t = true, f = false, e = {} }, big, rec,
                    { { { "deep" } } },
                }
                local out = {}
                for n, v in ipairs(values) do
                    baggage:set("rt" .. n, v)
                    local g = baggage:get("rt" .. n)
                    out[n] = type(g) == "table" and #g or g
                    if type(g) == "number" then out[n] = math.type(g) .. g end
                end
                local g = baggage:get("rt1")
                local t = baggage:get("rt2")
                local r = baggage:get("rt13")
                local e = baggage:get("rt11")
                out[#out + 1] = g.i + #g.s + t[3] + r.f17 + r.f1
                out[#out + 1] = tostring(e.t) .. tostring(e.f) .. #e.e
                out[#out + 1] = baggage:get("rt14")[1][1][1]
                return out
            end,
            storeRoot = function(self)
                baggage:set("me", root)
                return rawequal(baggage:get("me"), root)
            end,
            samePeer = function(self)
                return rawequal(baggage:get("peer"), baggage:get("peer"))
            end,
            askPeer = function(self)
                return E(baggage:get("peer")):hello("bag"):await()
            end,
        })
        return root
    end,
}
