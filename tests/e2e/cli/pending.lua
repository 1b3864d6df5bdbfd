-- A bootstrap that never settles.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Pending", {
            bootstrap = function(self, vats)
                return Promise.kit().promise
            end,
        })
    end,
}
