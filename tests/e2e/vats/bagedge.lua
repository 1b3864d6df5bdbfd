-- Baggage edge cases (test_e2e_baggage.c): large values under a small
-- memory cap, and key prefixes no key can have.  Methods return what the
-- vat saw, or the error baggage raised.
local function try(f, ...)
    local ok, r = pcall(f, ...)
    if ok then return r end
    return "error: " .. tostring(r)
end

-- About 4.5 MB of distinct strings: the heap holds it once, well under
-- the test's 8 MB cap, but not twice.
local function bigTable()
    local t = {}
    for i = 1, 1500 do t[i] = ("%04d"):format(i):rep(750) end
    return t
end

return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local held
        return Far("BagEdge", {
            bootstrap = function(self) return "ready" end,
            -- Stores the big table and keeps it alive in this heap.
            storeBig = function(self)
                held = nil
                held = bigTable()
                baggage:set("big", held)
                return #held
            end,
            set = function(self, k, v) baggage:set(k, v) return true end,
            has = function(self, k) return baggage:has(k) end,
            init = function(self, k, v)
                return try(function() baggage:init(k, v) return "ok" end)
            end,
            delete = function(self, k) return baggage:delete(k) end,
            -- How many keys start with `c` repeated n times.
            countRep = function(self, c, reps)
                return try(function()
                    local n = 0
                    for _ in baggage:keys(c:rep(reps)) do n = n + 1 end
                    return n
                end)
            end,
        })
    end,
}
