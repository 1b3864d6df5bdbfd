-- A system vat: it is given the kernel facet at bootstrap, keeps it in
-- baggage (so it works again after every restart) and offers a few
-- kernel powers to whoever can reach it.
--
--   luavat run  --kernel-config vats/examples/system/kernel.json
--   luavat send --kernel-config vats/examples/system/kernel.json \
--        admin launch '[{"bootstrap":"c","vats":{"c":{"sourceSpec":"counter.lua"}}}]'
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local function facet() return baggage:get("kernelFacet") end

        return Far("Admin", {
            bootstrap = function(self, vats, services)
                baggage:init("kernelFacet", services.kernelFacet)
                return "admin ready"
            end,
            -- Launches a ClusterConfig (sourceSpecs relative to this
            -- directory) and waits for its bootstrap.
            launch = function(self, config)
                local r = E(facet()):launchSubcluster(config):await()
                baggage:set("last", r.root)
                return { id = r.subclusterId, root = r.root,
                         bootstrap = r.bootstrapResult }
            end,
            -- Sends to the root of the subcluster launched last.
            tell = function(self, method, ...)
                local p = E(baggage:get("last"))
                return p[method](p, ...):await()
            end,
            list = function()
                local out = {}
                for _, s in ipairs(E(facet()):getSubclusters():await()) do
                    out[#out + 1] = s.id .. " " .. (s.name or s.bootstrap)
                end
                return out
            end,
            terminate = function(self, id)
                E(facet()):terminateSubcluster(id):await()
                return "terminated " .. id
            end,
            status = function() return E(facet()):getStatus():await() end,
        })
    end,
}
