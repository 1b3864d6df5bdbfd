-- Fills its baggage, then ends itself (test_e2e_cleanup.c): what a
-- terminated vat kept is deleted over several cranks.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Hoarder", {
            bootstrap = function(self) return "ready" end,
            -- Keys prefix1..prefixN.
            fill = function(self, prefix, n)
                for i = 1, n do baggage:set(prefix .. i, i) end
                return n
            end,
            quit = function(self)
                vatPowers.exit(false, "done hoarding")
                return true
            end,
        })
    end,
}
