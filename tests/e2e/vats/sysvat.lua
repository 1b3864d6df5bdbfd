-- A system vat: keeps the kernel facet in baggage and drives it on
-- request, so the tests can watch every facet method from Lua.
local function facet(baggage)
    return baggage:get("facet")
end

return {
    buildRootObject = function(vatPowers, parameters, baggage)
        baggage:set("starts", (baggage:get("starts") or 0) + 1)
        print("sysvat built " .. (parameters.tag or "?"))
        return Far("SysVat", {
            bootstrap = function(self, vats, services)
                baggage:init("facet", services.kernelFacet)
                baggage:set("boots", (baggage:get("boots") or 0) + 1)
                return parameters.tag or "sys ready"
            end,
            boots = function() return baggage:get("boots") end,
            exit = function()
                vatPowers.exit(false, "bye")
                return "exiting"
            end,
            starts = function() return baggage:get("starts") end,
            facetType = function() return type(facet(baggage)) end,
            -- Calls any facet method and awaits its answer.
            call = function(self, method, ...)
                local p = E(facet(baggage))
                return p[method](p, ...):await()
            end,
            -- Launches a child, calls it, lists subclusters, terminates it.
            childRoundTrip = function(self, config)
                local f = facet(baggage)
                local r = E(f):launchSubcluster(config):await()
                local answer = E(r.root):hello("sys"):await()
                local listed = false
                for _, s in ipairs(E(f):getSubclusters():await()) do
                    if s.id == r.subclusterId then listed = true end
                end
                E(f):terminateSubcluster(r.subclusterId):await()
                local after = E(f):getSubcluster(r.subclusterId):await()
                return { id = r.subclusterId, boot = r.bootstrapResult,
                         answer = answer, listed = listed,
                         gone = after == nil }
            end,
            -- Launches a child and keeps its root for later calls.
            launchChild = function(self, config)
                local r = E(facet(baggage)):launchSubcluster(config):await()
                baggage:set("child", r.root)
                return r.subclusterId
            end,
            -- Sends launchSubcluster without waiting; the child's root is
            -- kept when the launch answers.
            fireLaunch = function(self, config)
                E(facet(baggage)):launchSubcluster(config):next(function(r)
                    baggage:set("child", r.root)
                end)
            end,
            -- A promise the child decides, then its termination.
            pendingThenTerminate = function(self, id)
                local p = E(baggage:get("child")):forever()
                E(facet(baggage)):terminateSubcluster(id):await()
                local ok, err = pcall(function() return p:await() end)
                return ok and "still fulfilled?" or tostring(err)
            end,
            callChild = function(self, method, ...)
                local p = E(baggage:get("child"))
                return p[method](p, ...):await()
            end,
        })
    end,
}
