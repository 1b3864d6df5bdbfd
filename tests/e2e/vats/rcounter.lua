-- Restart tests: a counter kept in baggage, plus things that cannot
-- survive a restart (ephemeral objects, promises it decides, local state).
return {
    buildRootObject = function(vatPowers, parameters, baggage, incarnation)
        if baggage:get("failOnStart") then
            error("refusing to start")
        end
        baggage:set("starts", (baggage:get("starts") or 0) + 1)
        local calls = 0
        return Far("RCounter", {
            bootstrap = function() return "ready" end,
            increment = function(self)
                local n = (baggage:get("count") or 0) + 1
                baggage:set("count", n)
                calls = calls + 1
                return n
            end,
            count = function() return baggage:get("count") or 0 end,
            calls = function() return calls end,
            starts = function() return baggage:get("starts") end,
            incarnation = function() return incarnation end,
            makeThing = function()
                return Far("Thing", { hi = function() return "hi" end })
            end,
            hang = function() return Promise.kit().promise end,
            setFail = function(self, on) baggage:set("failOnStart", on) end,
            loop = function() while true do end end,
        })
    end,
}
