-- Makes objects for gcholder.lua and counts those still exported.
local made = setmetatable({}, {__mode = "k"})
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Maker", {
            make = function(self)
                local o = Far("Made", {})
                made[o] = true
                return o
            end,
        })
    end,
}
