-- Baggage throughput (bench/baggage.c): write(n) sets n keys "k%08d" to
-- small tables, read(n) gets them back, each in one delivery.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Baggage", {
            bootstrap = function() return "ready" end,
            write = function(self, n)
                for i = 1, n do
                    baggage:set(("k%08d"):format(i), { i = i, s = "value" })
                end
                return n
            end,
            read = function(self, n)
                local sum = 0
                for i = 1, n do
                    sum = sum + baggage:get(("k%08d"):format(i)).i
                end
                if sum ~= n * (n + 1) // 2 then
                    error("read: wrong values")
                end
                return n
            end,
        })
    end,
}
