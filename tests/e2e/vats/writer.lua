-- Writes large values to baggage, for the budget on what one delivery's
-- vatstore writes may hold (test_e2e_budget.c).  count() shows whether
-- its heap survived (an in-memory counter, reset when it restarts).
-- Values are made once per heap, so that the heap stays small beside the
-- writes these tests are about.
local made = {}
local function value(ch, size)
    local key = ch .. size
    made[key] = made[key] or ch:rep(size)
    return made[key]
end

return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local n = 0
        return Far("Writer", {
            bootstrap = function(self) return "ready" end,
            count = function(self) n = n + 1 return n end,
            keep = function(self, k, v) baggage:set(k, v) return true end,
            get = function(self, k) return baggage:get(k) end,
            has = function(self, k) return baggage:has(k) end,
            -- n keys prefix1..prefixN of `size` bytes each.
            fill = function(self, prefix, count, size)
                local v = value("x", size)
                for i = 1, count do baggage:set(prefix .. i, v) end
                return count
            end,
            -- One key written `count` times, with two values in turn.
            rewrite = function(self, k, count, size)
                local a, b = value("a", size), value("b", size)
                for i = 1, count do baggage:set(k, i % 2 == 1 and a or b) end
                return count
            end,
            -- One key written and deleted `count` times.
            churn = function(self, k, count, size)
                local v = value("c", size)
                for i = 1, count do
                    baggage:set(k, v)
                    baggage:delete(k)
                end
                return count
            end,
        })
    end,
}
