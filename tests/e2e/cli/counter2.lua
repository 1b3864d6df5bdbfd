-- A counter kept in baggage: it survives each CLI process (a restart).
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Counter", {
            bootstrap = function() return "ready" end,
            increment = function(self, by)
                local n = (baggage:get("count") or 0) + (by or 1)
                baggage:set("count", n)
                return n
            end,
            spin = function(self, ms)
                local t0 = monotonicNow()
                while monotonicNow() - t0 < ms do end
                return "spun"
            end,
        })
    end,
}
