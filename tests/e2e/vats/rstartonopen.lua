-- creationOptions.startOnOpen: buildRootObject runs when the kernel opens.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        baggage:set("opens", (baggage:get("opens") or 0) + 1)
        return Far("Eager", {
            bootstrap = function() return "ready" end,
            opens = function() return baggage:get("opens") end,
        })
    end,
}
