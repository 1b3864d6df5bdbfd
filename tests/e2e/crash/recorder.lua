-- Crash-test recorder: notes each number once; a number seen twice or out
-- of order is counted as a duplicate or a gap.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Recorder", {
            record = function(self, n)
                local last = baggage:get("last") or 0
                if n <= last then
                    baggage:set("dups", (baggage:get("dups") or 0) + 1)
                elseif n ~= last + 1 then
                    baggage:set("gaps", (baggage:get("gaps") or 0) + 1)
                end
                baggage:set("last", n)
                baggage:set("seen." .. n, true)
            end,
            report = function(self)
                return {
                    last = baggage:get("last") or 0,
                    dups = baggage:get("dups") or 0,
                    gaps = baggage:get("gaps") or 0,
                }
            end,
        })
    end,
}
