-- A bootstrap whose result cannot be marshalled.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Bad", {
            bootstrap = function(self, vats)
                return { ok = true, callback = { fn = print } }
            end,
        })
    end,
}
