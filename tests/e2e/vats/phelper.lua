-- The other side of the promise tests (see pdriver.lua): small methods
-- that await, return promises, raise, and remember what they were sent.
local pending, kitB, pA, first = {}, nil, nil, nil
local log = {}
local heldArg

return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local recorder = Far("Recorder", {
            rec = function(self, i) log[#log + 1] = i return i end,
            order = function(self) return log end,
        })
        local thing = Far("Thing", {})
        return Far("Helper", {
            ping = function(self) return "pong" end,
            add = function(self, a, b) return a + b end,
            fail = function(self, why) error(why, 0) end,
            -- A promise argument: wait for the sender to settle it.
            awaitArg = function(self, p)
                local isP = Promise.isPromise(p)
                return ("%s got %s"):format(isP, tostring(p:await()))
            end,
            -- A promise result, settled later by fire(name, value).
            later = function(self, name)
                local kit = Promise.kit()
                pending[name] = kit
                return kit.promise
            end,
            -- A promise resolved to a promise (settled later by fire).
            twoHop = function(self, name)
                local outer, inner = Promise.kit(), Promise.kit()
                outer.resolve(inner.promise)
                pending[name] = inner
                return outer.promise
            end,
            fire = function(self, name, value)
                pending[name].resolve(value)
                return true
            end,
            -- One half of a cycle: keep the sender's promise, hand back ours.
            makeKit = function(self, p)
                pA, kitB = p, Promise.kit()
                return {p = kitB.promise}
            end,
            closeCycle = function(self)
                kitB.resolve(pA)
                local ok, err = pcall(function() return kitB.promise:await() end)
                return {ok = ok, err = tostring(err)}
            end,
            -- Slow: answers only after release(), so sends pipeline.
            slowRecorder = function(self)
                local kit = Promise.kit()
                pending.slow = kit
                kit.promise:await()
                return recorder
            end,
            release = function(self) pending.slow.resolve(true) return true end,
            -- Methods from a metatable, and an __index that raises.
            classy = function(self)
                return Far("Classy", setmetatable({}, {__index = {
                    greet = function(_, x) return "hi " .. x end}}))
            end,
            raisy = function(self)
                return Far("Raisy", setmetatable({}, {
                    __index = function() error("index boom", 0) end}))
            end,
            -- Two promises, then both settled in one crank, the first to a
            -- record naming the second: one notify carries both.
            pairKits = function(self)
                pending.a, pending.b = Promise.kit(), Promise.kit()
                return {a = pending.a.promise, b = pending.b.promise}
            end,
            settlePair = function(self)
                pending.a.resolve({b = pending.b.promise, n = 1})
                pending.b.resolve(7)
                return true
            end,
            getThing = function(self) return thing end,
            -- For test_e2e_notify.c: a value of this vat's that names a
            -- promise another vat decides ...
            waitValue = function(self, name)
                pending[name] = Promise.kit()
                return pending[name].promise:await()
            end,
            makeA = function(self, x)
                heldArg = E(x):waitValue("A")
                return {a = heldArg}
            end,
            fireWithHeld = function(self, name)
                pending[name].resolve({a = heldArg})
                return true
            end,
            -- ... and a result forwarded to a promise settled later.
            fooSlow = function(self)
                pending.gate = Promise.kit()
                pending.inner = Promise.kit()
                pending.gate.promise:await()
                return pending.inner.promise
            end,
            barAwait = function(self, r)
                local v = r:await()
                return {isPromise = Promise.isPromise(v), v = tostring(v)}
            end,
            releaseFoo = function(self)
                pending.gate.resolve(true)
                return true
            end,
            settleInner = function(self)
                pending.inner.resolve("innerValue")
                return true
            end,
            -- Settled promises whose values name each other, exported in
            -- a record: the first resolve carries them all.  mutualBad's
            -- second value cannot be marshalled, so it alone rejects; its
            -- third was rejected.
            mutual = function(self)
                local a, b = Promise.kit(), Promise.kit()
                a.resolve({b = b.promise, n = 1})
                b.resolve({a = a.promise, n = 2})
                return {a = a.promise}
            end,
            -- n settled promises in a ring, each naming the next: the
            -- result's notify carries them all in one batch.
            ring = function(self, n)
                local kits = {}
                for i = 1, n do kits[i] = Promise.kit() end
                for i = 1, n do
                    kits[i].resolve({n = i, next = kits[i % n + 1].promise})
                end
                return {first = kits[1].promise}
            end,
            mutualBad = function(self)
                local a, b, c = Promise.kit(), Promise.kit(), Promise.kit()
                c.reject("no")
                a.resolve({b = b.promise, c = c.promise, n = 1})
                b.resolve({a = a.promise, f = print})
                return {a = a.promise}
            end,
            -- Identity of what others send us.
            take = function(self, obj)
                if first == nil then first = obj end
                return rawequal(first, obj) and first == obj
            end,
            count = function(self, ...)
                local n = select("#", ...)
                local shown = {}
                for i = 1, n do shown[i] = tostring((select(i, ...))) end
                return n .. ":" .. table.concat(shown, ",")
            end,
        })
    end,
}
