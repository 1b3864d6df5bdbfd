-- The far side of test_e2e_vrefs.c: echoes values, holds a promise it
-- is given and reports how it settled, and answers with promises it
-- settles later.
local held, pending = nil, {}
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("VrefHelper", {
            echo = function(self, rec) return rec end,
            look = function(self, thing) return tostring(thing) ~= nil end,
            -- Sends to what it is lent, without keeping it, and says why
            -- it cannot write to an E proxy.
            poke = function(self, thing)
                E.sendOnly(thing):noop()
                E(thing):noop()
                local ok, why = pcall(function() E(thing).x = 1 end)
                return ok and "written" or tostring(why):match("E%(x%).*")
            end,
            hold = function(self, p) held = p; return true end,
            awaitHeld = function(self)
                local ok, v = pcall(function() return held:await() end)
                return {ok = ok, v = v}
            end,
            later = function(self)
                local k = Promise.kit()
                pending[#pending + 1] = k
                return k.promise
            end,
            fire = function(self, v)
                for i = 1, #pending do pending[i].resolve(v) end
                pending = {}
                return true
            end,
            add = function(self, a, b) return a + b end,
            take = function(self, ...) return "took" end,
            -- counts, awaits a later turn, then reads its last argument
            countAwait = function(self, ...)
                local n = select("#", ...)
                local later = Far("Later", {id = function(_, v) return v end})
                local m = E(later):id(n):await()
                return m .. ":" .. tostring((select(-1, ...)))
            end,
            count = function(self, ...)
                return select("#", ...) .. ":" .. tostring((select(-1, ...)))
            end,
            obj = function(self)
                return Far("Thing", {hit = function() return "hit" end})
            end,
        })
    end,
}
