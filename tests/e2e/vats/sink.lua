-- Counts what sender.lua hands it (test_e2e_budget.c): messages taken,
-- and how the promises it holds settled.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local got, bytes, fulfilled, rejected = 0, 0, 0, 0
        return Far("Sink", {
            bootstrap = function(self) return "sink ready" end,
            take = function(self, v)
                got = got + 1
                bytes = bytes + #v
                return true
            end,
            hold = function(self, p)
                p:next(function(v)
                    fulfilled = fulfilled + 1
                    bytes = bytes + #v
                end, function() rejected = rejected + 1 end)
                return true
            end,
            -- "taken T bytes B fulfilled F rejected R"
            stats = function(self)
                return string.format("taken %d bytes %d fulfilled %d "
                                     .. "rejected %d", got, bytes,
                                     fulfilled, rejected)
            end,
        })
    end,
}
