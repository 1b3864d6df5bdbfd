-- A vat that only counts in memory: it shows that others' faults never
-- touched it (its count would restart if it had been restarted).
local n, held = 0, nil
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Bystander", {
            inc = function(self) n = n + 1 return n end,
            poke = function(self) n = n + 100 return n end,
            hold = function(self, p) held = p return true end,
            -- Sends target:method() and reports how it ended.
            relay = function(self, target, method)
                local proxy = E(target)
                local ok, err = pcall(function()
                    return proxy[method](proxy):await()
                end)
                return ok and "fulfilled" or tostring(err)
            end,
        })
    end,
}
