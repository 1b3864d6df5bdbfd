-- Holds objects another vat made (test_e2e_restart.c): one only in a
-- local (gone when this vat's heap is), one in baggage (kept) until
-- `unkeep` deletes it (test_e2e_baggage.c).
local maker
local held = {}
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Holder", {
            bootstrap = function(self, vats)
                maker = vats.gcmaker
                baggage:set("maker", maker)
                return "ready"
            end,
            grab = function(self)
                held[#held + 1] = E(maker):make():await()
                return #held
            end,
            keep = function(self)
                baggage:set("kept", E(baggage:get("maker")):make():await())
                return "kept"
            end,
            unkeep = function(self)
                baggage:delete("kept")
                return "unkept"
            end,
            poke = function(self) return "awake" end,
        })
    end,
}
