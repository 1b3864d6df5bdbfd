-- Keeps the services its launch was given and calls them on request.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("SvcUser", {
            bootstrap = function(self, vats, services)
                local names = {}
                for name, svc in pairs(services) do
                    baggage:init("svc." .. name, svc)
                    names[#names + 1] = name
                end
                table.sort(names)
                return names
            end,
            call = function(self, name, method, ...)
                local p = E(baggage:get("svc." .. name))
                return p[method](p, ...):await()
            end,
        })
    end,
}
