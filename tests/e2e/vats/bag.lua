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
                end
                return try(function() baggage:set("x", v) end)
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
