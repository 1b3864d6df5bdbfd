-- The smallest vat (bench/launch.c): a root object with one method.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Trivial", {
            bootstrap = function() return "ready" end,
            ping = function() return "pong" end,
        })
    end,
}
