-- Marshalling probes: echo returns its arguments; describe reports Lua
-- types as the vat sees them; make builds values that only Lua can make.
local function describe(v)
    local t = type(v)
    if t == "number" then return math.type(v) end
    if t == "table" then
        local keys = {}
        for k in pairs(v) do keys[#keys + 1] = tostring(k) end
        table.sort(keys)
        return "table{" .. table.concat(keys, ",") .. "}"
    end
    return t
end

return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local self_, peer
        self_ = Far("RoundTrip", {
            bootstrap = function(self, vats)
                peer = vats.peer
                return "ready"
            end,
            -- Sends v to the other vat and back, through the kernel.
            viaPeer = function(self, what)
                local v = self_.make(self_, what)
                local back = E(peer):echo(v):await()
                return back == v, back
            end,
            binaryViaPeer = function(self)
                local s = "a\0b\255\254c\0"
                local back = E(peer):echo(s):await()
                return back == s and #back == 7
            end,
            -- Floats come back floats, with the same bits (-0.0 too), and
            -- integers integers; "" when all did, else what differed.
            numbersViaPeer = function(self)
                local sent = { 3.0, -0.0, 0.0, 1e14, -2.0 ^ 53, 1e15, 0.5,
                               3, 0, -7, 2 ^ 53 | 0 }
                local back = E(peer):echo(sent):await()
                local bad = {}
                for i, x in ipairs(sent) do
                    local y = back[i]
                    if math.type(x) ~= math.type(y) or
                        string.pack("<n", x) ~= string.pack("<n", y) then
                        bad[#bad + 1] = string.format("%s became %s",
                            tostring(x), tostring(y))
                    end
                end
                return table.concat(bad, ", ")
            end,
            presenceIdentity = function(self)
                local a = E(peer):echo(self_):await()
                local b = E(peer):echo({ x = self_ }):await()
                return rawequal(a, self_) and rawequal(b.x, self_)
            end,
            echo = function(self, ...) return ... end,
            count = function(self, ...) return select("#", ...) end,
            describe = function(self, v) return describe(v) end,
            make = function(self, what)
                if what == "bigint" then return math.maxinteger end
                if what == "negbig" then return math.mininteger end
                if what == "float" then return 0.1 end
                if what == "integral" then return 3.0 end
                if what == "nan" then return 0 / 0 end
                if what == "inf" then return 1 / 0 end
                if what == "ninf" then return -1 / 0 end
                if what == "negzero" then return -0.0 end
                if what == "binary" then return "a\0b\255\254c" end
                if what == "special" then return { "!x", "#y", "$z", "-", "plain" } end
                if what == "nested" then return { z = 1, a = { b = { c = { 1, 2 } } } } end
                if what == "empty" then return {} end
                if what == "self" then return self_ end
                if what == "selftwice" then return { self_, self_ } end
                if what == "fn" then return { a = { 1, { x = print } } } end
                if what == "cycle" then local t = {}; t.me = t; return t end
                if what == "mixed" then return { 1, 2, x = 3 } end
                if what == "sparse" then return { [1] = 1, [3] = 3 } end
                if what == "meta" then return setmetatable({}, {}) end
                if what == "thread" then return coroutine.create(print) end
                if what == "deep" then
                    local t = {}
                    for i = 1, 100 do t = { t } end
                    return t
                end
                error("unknown " .. tostring(what))
            end,
            binaryok = function(self, s)
                return s == "a\0b\255\254c"
            end,
        })
        return self_
    end,
}
