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
            -- Each new promise follows the last one made: n links, built
            -- from the tail, then the first settles them all.
            tailChain = function(self, n)
                local first = Promise.kit()
                local cur = first.promise
                for i = 1, n do
                    local k = Promise.kit()
                    k.resolve(cur)
                    cur = k.promise
                end
                first.resolve("end")
                return cur:await()
            end,
            -- A promise resolved to itself, and three in a ring.
            cycles = function(self)
                local function why(p)
                    local ok, err = pcall(function() return p:await() end)
                    return ok and "settled" or tostring(err):sub(1, 13)
                end
                local s = Promise.kit()
                s.resolve(s.promise)
                local a, b, c = Promise.kit(), Promise.kit(), Promise.kit()
                a.resolve(b.promise)
                b.resolve(c.promise)
                c.resolve(a.promise)
                return {why(s.promise), why(c.promise)}
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
