-- Pings its peer (echo.lua) n times, one await at a time, inside one
-- method: the kernel store must not grow with n.
local peer
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Pinger", {
            bootstrap = function(self, vats)
                peer = vats.echo
                return "ready"
            end,
            run = function(self, n)
                local sum = 0
                for i = 1, n do sum = sum + E(peer):echo(i):await() end
                return sum
            end,
            -- A presence is not a local object: a field or a call says
            -- to send with E().
            misuse = function(self)
                return {select(2, pcall(function() return peer.echo end)),
                        select(2, pcall(function() return peer(1) end))}
            end,
        })
    end,
}
