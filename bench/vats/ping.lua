-- Two roles in one file: the pinger awaits E(peer):ping(i) n times; the
-- ponger answers.  Parameters pick the role.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local peer
        return Far("Ping", {
            bootstrap = function(self, vats)
                peer = vats.pong
                return "ready"
            end,
            ping = function(self, i)
                return i
            end,
            run = function(self, n)
                local sum = 0
                for i = 1, n do
                    sum = sum + E(peer):ping(i):await()
                end
                return sum
            end,
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
        })
    end,
}
