-- Hands the kernel large messages and resolutions, for the budget on what
-- one delivery may hold in the host until it ends (test_e2e_budget.c).
-- Its peer, sink.lua, counts what reaches it.  count() shows whether its
-- heap survived (an in-memory counter, reset when it restarts).  Values
-- are made once per heap, so that the heap stays small beside what these
-- tests are about.
local made = {}
local function value(size)
    made[size] = made[size] or ("x"):rep(size)
    return made[size]
end

return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local n = 0
        local kits = {}
        local function sink() return baggage:get("sink") end
        local function send(oneway, v)
            if oneway then
                E.sendOnly(sink()):take(v)
            else
                E(sink()):take(v)
            end
        end
        return Far("Sender", {
            bootstrap = function(self, vats)
                baggage:set("sink", vats.sink)
                return "ready"
            end,
            count = function(self) n = n + 1 return n end,
            -- `count` messages of `size` bytes to the sink, with results
            -- or one-way.
            blast = function(self, count, size, oneway)
                local v = value(size)
                for i = 1, count do send(oneway, v) end
                return count
            end,
            -- `writes` baggage values and `sends` one-way messages of
            -- `size` bytes each, in one delivery.
            mixed = function(self, writes, sends, size)
                local v = value(size)
                for i = 1, writes do baggage:set("m" .. i, v) end
                for i = 1, sends do send(true, v) end
                return writes + sends
            end,
            -- A result of `size` bytes.
            give = function(self, size) return value(size) end,
            -- Hands the sink `count` promises of its own (it exports
            -- them, and decides them).
            promise = function(self, count)
                for i = 1, count do
                    local kit = Promise.kit()
                    kits[#kits + 1] = kit
                    E.sendOnly(sink()):hold(kit.promise)
                end
                return #kits
            end,
            -- Resolves up to `count` of them with `size` bytes each.
            settle = function(self, count, size)
                local v, done = value(size), 0
                while done < count and #kits > 0 do
                    table.remove(kits, 1).resolve(v)
                    done = done + 1
                end
                return done
            end,
            has = function(self, k) return baggage:has(k) end,
        })
    end,
}
