-- A worker for the restart tests: answers with its name and a call count.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Worker", {
            work = function(self, x)
                local n = (baggage:get("n") or 0) + 1
                baggage:set("n", n)
                return parameters.name .. ":" .. x .. ":" .. n
            end,
        })
    end,
}
