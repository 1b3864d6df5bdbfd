-- A promise that followed another and has settled must not keep the one
-- it followed alive: `hold` keeps only the head of a chain, a weak table
-- watches the rest, and the kernel reaps this vat after every delivery.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local watched = setmetatable({}, {__mode = "v"})
        local head
        return Far("PChain", {
            bootstrap = function() return "ready" end,
            hold = function(self, n)
                local h, last = Promise.kit(), Promise.kit()
                h.resolve(last.promise)
                head = h.promise
                watched[n] = last.promise
                for i = n - 1, 1, -1 do -- head follows n, follows n - 1, ...
                    local k = Promise.kit()
                    last.resolve(k.promise)
                    watched[i] = k.promise
                    last = k
                end
                last.resolve("end")
                return true
            end,
            check = function(self, n)
                local alive = 0
                for i = 1, n do
                    if watched[i] ~= nil then alive = alive + 1 end
                end
                return {alive = alive, value = head:await()}
            end,
        })
    end,
}
