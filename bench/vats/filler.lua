-- Writes n baggage entries when asked; answers ping.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Filler", {
            bootstrap = function() return "ready" end,
            fill = function(self, from, n)
                for i = from, from + n - 1 do
                    baggage:set(("k%08d"):format(i), { i = i, s = "value" })
                end
                return n
            end,
            ping = function() return "pong" end,
        })
    end,
}
