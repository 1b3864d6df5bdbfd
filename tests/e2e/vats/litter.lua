-- Makes ~300 KB of garbage while it builds its root, then answers as echo
-- does: a start that more than doubles the heap is collected at once.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local scratch = {}
        for i = 1, 4000 do
            scratch[i] = ("x"):rep(40) .. i
        end
        scratch = nil
        return Far("Litter", {
            echo = function(self, ...)
                return ...
            end,
            bootstrap = function(self, vats, services)
                return "litter ready"
            end,
        })
    end,
}
