-- Misbehaves on request: loops forever (plainly, inside pcall, inside a
-- coroutine) or allocates without end.  count() shows whether its heap
-- survived (an in-memory counter, reset when the vat is restarted).
local n, bystander = 0, nil

local function spin() while true do end end

return {
    buildRootObject = function(vatPowers, parameters, baggage)
        -- Armed, every restart faults: a fault while resuscitating.
        if baggage:get("spinOnStart") then spin() end
        return Far("Looper", {
            armStartSpin = function(self)
                baggage:set("spinOnStart", true)
                return true
            end,
            bootstrap = function(self, vats)
                bystander = vats.bystander
                return "ready"
            end,
            count = function(self) n = n + 1 return n end,
            spin = function(self) spin() end,
            -- Each caught kill is retried: the kill must be sticky.
            spinPcall = function(self)
                while true do pcall(spin) end
            end,
            spinCoroutine = function(self)
                while true do
                    local co = coroutine.wrap(function() pcall(spin) end)
                    pcall(co)
                end
            end,
            -- The kill also runs through __close handlers.
            spinClose = function(self)
                local guard <close> = setmetatable({}, {__close = spin})
                spin()
            end,
            spinXpcall = function(self)
                while true do xpcall(spin, spin) end
            end,
            -- C loops of the libraries, which run no Lua code: the
            -- time budget stops them all the same.
            spinMove = function(self) table.move({}, 1, 1e15, 2) end,
            spinRemove = function(self)
                table.remove(setmetatable({}, {__len = function()
                    return 1e15 end}), 1)
            end,
            spinInsert = function(self)
                table.insert(setmetatable({}, {__len = function()
                    return 1e15 end}), 1, 0)
            end,
            spinConcat = function(self)
                table.concat(setmetatable({}, {__index = table.concat}),
                             "", 1, 1e15)
            end,
            -- Marshalled, 9 MB from 1 MB of heap: over the 8 MB limit.
            bigResult = function(self)
                local s, t = string.rep("x", 1 << 20), {}
                for i = 1, 9 do t[i] = s end
                return t
            end,
            sortDriven = function(self)
                local ok, e = pcall(table.sort, setmetatable({3, 1, 2},
                    {__len = function() return 3 end}))
                return tostring(e)
            end,
            sortPlain = function(self)
                local t = setmetatable({3, 1, 2}, {__lt = function() end})
                table.sort(t)
                return table.concat(t, ",")
            end,
            hog = function(self)
                local t = {}
                while true do
                    local ok = pcall(function()
                        t[#t + 1] = string.rep("x", 1 << 20) .. #t
                    end)
                end
            end,
            -- Garbage, not a heap: `rounds` strings of about `size` bytes,
            -- each dropped before the next is made.  Repeating 64 bytes,
            -- not one: string.rep copies its unit one memcpy at a time,
            -- and 120 million of them took most of valgrind's budget.
            litter = function(self, rounds, size)
                local unit = ("0123456789abcdef"):rep(4)
                for i = 1, rounds do
                    local s = unit:rep(size // 64 + i)
                end
                return rounds
            end,
            -- Values that marshal past the limit (each byte \u0001):
            -- a result, a send's argument (refused where it is sent; the
            -- next send goes on), rejections.
            bigString = function(self) return string.rep("\1", 1500000) end,
            bigReject = function(self)
                error(string.rep("\1", 1500000), 0)
            end,
            bigRejectWords = function(self)
                error(setmetatable({}, {__tostring = function()
                    return "big" .. string.rep("\1", 1500000)
                end}))
            end,
            bigRejectLater = function(self)
                local kit = Promise.kit()
                E(bystander):inc():next(function()
                    kit.reject(string.rep("\1", 1500000))
                end)
                return kit.promise
            end,
            bigArg = function(self)
                local ok, err = pcall(function()
                    return E(bystander):inc(string.rep("\1", 1500000))
                end)
                return tostring(ok) .. ": " .. tostring(err) .. "; then "
                       .. E(bystander):inc():await()
            end,
        })
    end,
}
