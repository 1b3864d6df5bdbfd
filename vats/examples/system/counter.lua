-- A counter the admin vat can launch; its count lives in baggage.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Counter", {
            bootstrap = function() return "counter ready" end,
            increment = function()
                baggage:set("n", (baggage:get("n") or 0) + 1)
                return baggage:get("n")
            end,
        })
    end,
}
