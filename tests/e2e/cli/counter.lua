-- Returns a presence so --json and <ko Iface> printing can be checked.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Maker", {
            bootstrap = function(self, vats)
                return { counter = Far("Counter", {}), name = "maker" }
            end,
        })
    end,
}
