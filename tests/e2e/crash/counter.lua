-- Crash-test counter: every increment is kept in baggage and reported to
-- the recorder vat in the same crank (a one-way send).
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local recorder = baggage:get("recorder")
        return Far("Counter", {
            bootstrap = function(self, vats)
                recorder = vats.recorder
                baggage:init("recorder", recorder)
                baggage:init("count", 0)
                return "ready"
            end,
            increment = function(self)
                local n = baggage:get("count") + 1
                baggage:set("count", n)
                E(recorder):record(n)
                return n
            end,
            count = function(self)
                return baggage:get("count")
            end,
            report = function(self)
                local r = E(recorder):report():await()
                r.count = baggage:get("count")
                return r
            end,
        })
    end,
}
