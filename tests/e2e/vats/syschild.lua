-- A child subcluster a system vat launches through the kernel facet.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("SysChild", {
            bootstrap = function()
                if parameters.refuse then error(parameters.refuse) end
                return "child ready"
            end,
            hello = function(self, who)
                baggage:set("n", (baggage:get("n") or 0) + 1)
                return "hello " .. who .. " from " .. (parameters.name or "?")
            end,
            count = function() return baggage:get("n") or 0 end,
            forever = function() return Promise.kit().promise end,
        })
    end,
}
