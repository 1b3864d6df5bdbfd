-- Uses every endowment its config allows (see test_e2e_endowments.c).
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Endow", {
            bootstrap = function() return "ready" end,
            clocks = function()
                local t0 = monotonicNow()
                local t1 = monotonicNow()
                return { wall = Date.now(), mono = t1 >= t0,
                         wallType = math.type(Date.now()) }
            end,
            -- n draws of each kind, as text, so two vats can be compared.
            draws = function(self, n)
                local out = {}
                for i = 1, n do
                    out[#out + 1] = Random.int(1, 1000000)
                    out[#out + 1] = ("%.6f"):format(Random.float())
                end
                out[#out + 1] = (Random.bytes(5):gsub(".", function(c)
                    return ("%02x"):format(c:byte())
                end))
                return table.concat(out, " ")
            end,
            ranges = function()
                local ok = true
                for _ = 1, 2000 do
                    local a = Random.int(-3, 3)
                    local b = Random.int(6)
                    local f = Random.float()
                    if a < -3 or a > 3 or b < 1 or b > 6 or f < 0 or f >= 1 then
                        ok = false
                    end
                end
                local wide = Random.int(math.mininteger, math.maxinteger)
                return { ok = ok, len0 = #Random.bytes(0),
                         len9 = #Random.bytes(9), wide = math.type(wide) }
            end,
            misuse = function()
                local r = {}
                r[1] = select(2, pcall(Random.int, 5, 1))
                r[2] = select(2, pcall(Random.bytes, -1))
                r[3] = select(2, pcall(Random.int, "x"))
                return r
            end,
            hasRandom = function() return Random ~= nil end,
        })
    end,
}
