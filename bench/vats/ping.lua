-- Two roles in one file (bench/ping.c): the pinger sends its peer n
-- pings in one of three ways; the ponger answers and counts them.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local peer
        local received = 0
        return Far("Ping", {
            bootstrap = function(self, vats)
                peer = vats.pong
                return "ready"
            end,
            ping = function(self, i)
                received = received + 1
                return i
            end,
            count = function(self)
                return received
            end,
            -- Sequential: await each round trip.
            run = function(self, n)
                local sum = 0
                for i = 1, n do
                    sum = sum + E(peer):ping(i):await()
                end
                return sum
            end,
            -- Pipelined: send all, then await all.
            pipelined = function(self, n)
                local ps = {}
                for i = 1, n do
                    ps[i] = E(peer):ping(i)
                end
                local sum = 0
                for i = 1, n do
                    sum = sum + ps[i]:await()
                end
                return sum
            end,
            -- One-way: no result promises; one awaited count() after the
            -- n pings (delivered in order) says they have all arrived.
            oneway = function(self, n)
                local before = E(peer):count():await()
                for i = 1, n do
                    E.sendOnly(peer):ping(i)
                end
                local after = E(peer):count():await()
                if after - before ~= n then
                    error(("oneway: %d of %d pings arrived"):format(
                        after - before, n))
                end
                return after - before
            end,
        })
    end,
}
