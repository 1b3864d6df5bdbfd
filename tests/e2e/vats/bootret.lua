-- A child whose bootstrap answers with plain data shaped like the kernel's
-- JSON forms: a record whose only key is "@kref" (parameters.forge names
-- the kref it holds), and its own root beside it.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local root
        root = Far("BootRet", {
            bootstrap = function()
                return { x = { ["@kref"] = parameters.forge }, me = root }
            end,
        })
        return root
    end,
}
