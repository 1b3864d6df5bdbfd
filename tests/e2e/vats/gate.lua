-- Hands out one pending promise to every wait() and settles it on open():
-- the results of several messages then follow the same promise.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local kit = Promise.kit()
        return Far("Gate", {
            bootstrap = function() return "gate ready" end,
            wait = function() return kit.promise end,
            open = function(self, v)
                kit.resolve(v)
                return "opened"
            end,
        })
    end,
}
