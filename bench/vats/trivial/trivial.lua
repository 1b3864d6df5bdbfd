-- The smallest vat (bench/launch.c): a root object with one method.  In
-- a folder of its own: a vat's sources are every Lua file in its folder,
-- read at each launch.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Trivial", {
            bootstrap = function() return "ready" end,
            ping = function() return "pong" end,
        })
    end,
}
