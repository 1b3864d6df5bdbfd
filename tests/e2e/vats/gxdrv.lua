-- Driver of test_e2e_gcleak.c: round trips that import, pass and drop
-- objects, so the kernel's counts can be checked after each pattern.
local x, held
local received = 0
local function far(i) return Far("Mine", { ping = function() return "mine" end }) end
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        if baggage:has("x") then x = baggage:get("x") end
        return Far("Drv", {
            bootstrap = function(self, vats)
                x = vats.gxexp
                baggage:set("x", x)
                return "ready"
            end,
            -- n fresh imports, each used once and dropped.
            imports = function(self, n)
                for i = 1, n do E(E(x):make()):ping():await() end
                return n
            end,
            -- n fresh exports, each lent to the exporter and dropped.
            exports = function(self, n)
                for i = 1, n do E(x):take(far(i)):await() end
                return n
            end,
            -- n objects that arrive through a result settled later.
            later = function(self, n)
                for i = 1, n do
                    local p = E(x):later("a")
                    E(x):fire("a"):await()
                    E(p):ping():await()
                end
                return n
            end,
            -- Through a chain of two promises, piped to before it settles.
            chain = function(self, n)
                for i = 1, n do
                    local p = E(x):chain("c")
                    local r = E(p):ping()
                    E(x):fire("c"):await()
                    r:await()
                end
                return n
            end,
            -- A send queued to an import the driver drops at once.
            fireAndForget = function(self, n)
                for i = 1, n do
                    local o = E(x):make():await()
                    E.sendOnly(o):ping()
                end
                return n
            end,
            -- The object comes back in a message while this vat drops it.
            bounce = function(self, n)
                for i = 1, n do
                    local o = E(x):make():await()
                    E(x):sendBack(self, o):await()
                end
                return n
            end,
            -- Promises settled to values that name them.
            selfCycle = function(self, n)
                for i = 1, n do
                    local k = Promise.kit()
                    E(x):look(k.promise):await()
                    k.resolve({me = k.promise, o = far(i)})
                end
                E(x):look(0):await()
                return n
            end,
            -- Objects sent to a promise that is then rejected or settled
            -- to data: the sends fail, the objects go.
            spoilt = function(self, n, how)
                for i = 1, n do
                    local p = E(x):later("s")
                    local r = E(p):receive(far(i))
                    E.sendOnly(p):receive(far(-i))
                    E(x):spoil("s", how):await()
                    pcall(function() return r:await() end)
                end
                return n
            end,
            -- Objects parked on a promise of the exporter, which ends.
            parkThenExit = function(self, n)
                local p = E(x):later("q")
                for i = 1, n do E.sendOnly(p):receive(far(i)) end
                local ok = pcall(function() return E(x):die():await() end)
                pcall(function() return p:await() end)
                return n
            end,
            -- A settled result sent on as an argument.
            settledArg = function(self, n)
                for i = 1, n do
                    local r = E(x):make()
                    r:await()
                    E(x):awaitPing(r):await()
                    E(x):awaitPing(r):await()
                end
                return n
            end,
            -- A result forwarded to the exporter's pending promise.
            forwarded = function(self, name) return E(x):later(name) end,
            -- n imports held at once (dropped together by unhold).
            holdMany = function(self, n)
                held = {}
                local r = {}
                for i = 1, n do r[i] = E(x):make() end
                for i = 1, n do held[i] = r[i]:await() end
                return n
            end,
            mine = function(self) return far(0) end,
            relay = function(self, n)
                for i = 1, n do E(E(x):relay(self)):ping():await() end
                return n
            end,
            promiseArg = function(self, n)
                for i = 1, n do
                    local k = Promise.kit()
                    local r = E(x):awaitPing(k.promise)
                    k.resolve(far(i))
                    r:await()
                end
                return n
            end,
            receive = function(self, o) received = received + 1 return "ok" end,
            received = function() return received end,
            hold = function(self) held = E(x):make():await() return "held" end,
            holdKept = function(self) held = E(x):keepOne():await() return "held" end,
            unhold = function(self) held = nil return "unheld" end,
            pingHeld = function(self) return E(held):ping():await() end,
            giveHeld = function(self) return E(x):take(held):await() end,
            -- Lends an object to a vat that faults while it holds it.
            lendToSpinner = function(self)
                local ok, err = pcall(function() return E(x):spin(far(0)):await() end)
                return tostring(ok)
            end,
            lendToKeep = function(self) return E(x):keepArg(far(0)):await() end,
            -- Ends the exporter with sends carrying new objects behind.
            exitThenLend = function(self, n)
                local r = E(x):die()
                for i = 1, n do E.sendOnly(x):keepArg(far(i)) end
                local ok = pcall(function() return r:await() end)
                return tostring(ok)
            end,
            -- Sends to the held import and lets go of it at once.
            pingAndDrop = function(self)
                local r = E(held):ping()
                held = nil
                return r
            end,
            exitExp = function(self)
                local ok = pcall(function() return E(x):die():await() end)
                return tostring(ok)
            end,
        })
    end,
}
