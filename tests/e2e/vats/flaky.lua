-- test_e2e_followup: a vat whose "flaky" method overruns its time budget in
-- incarnation 0 only (so a redelivery to a later incarnation answers),
-- plus a promise it decides and never settles, and an ephemeral object.
return {
    buildRootObject = function(vatPowers, parameters, baggage, incarnation)
        baggage:set("starts", (baggage:get("starts") or 0) + 1)
        local kit
        return Far("Flaky", {
            bootstrap = function() return "ready" end,
            flaky = function()
                if incarnation == 0 then while true do end end
                return "answered by incarnation " .. incarnation
            end,
            ping = function() return "pong " .. incarnation end,
            incarnation = function() return incarnation end,
            starts = function() return baggage:get("starts") end,
            loop = function() while true do end end,
            -- A promise this vat decides, settled later by fire().
            wait = function()
                kit = Promise.kit()
                return kit.promise
            end,
            fire = function(self, v)
                if kit then kit.resolve(v) return "fired" end
                return "nothing to fire"
            end,
            makeThing = function()
                return Far("Thing", { hi = function() return "hi" end })
            end,
        })
    end,
}
