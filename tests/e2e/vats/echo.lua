-- Answers what it is sent; used by many end-to-end tests.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Echo", {
            echo = function(self, ...)
                return ...
            end,
            bootstrap = function(self, vats, services)
                return "echo ready"
            end,
            hello = function(self, name)
                return "hello " .. tostring(name)
            end,
        })
    end,
}
