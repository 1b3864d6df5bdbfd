-- Keeps presences of its workers in baggage and reaches them after a
-- restart without a second bootstrap.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Coordinator", {
            bootstrap = function(self, vats)
                baggage:init("workers", { vats.w1, vats.w2 })
                baggage:set("boots", (baggage:get("boots") or 0) + 1)
                return "ready"
            end,
            askAll = function(self, x)
                local ws = baggage:get("workers")
                local a = E(ws[1]):work(x)
                local b = E(ws[2]):work(x)
                return { a:await(), b:await() }
            end,
            boots = function() return baggage:get("boots") end,
        })
    end,
}
