-- The other side of test_e2e_resolve.c (bindings/lresolve.c): returns
-- settled promises whose values name more settled promises, and reasons
-- whose __tostring makes syscalls while a batch is being built.
local function settled(v) local k = Promise.kit() k.resolve(v) return k.promise end
local notes = {}
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("RHelper", {
            ping = function(self) return "pong" end,
            chain = function(self, n, badAt)
                local kits = {}
                for i = 1, n do kits[i] = Promise.kit() end
                for i = 1, n do
                    local v = {n = i, nxt = kits[i + 1] and kits[i + 1].promise}
                    if i == badAt then v.z = print end
                    kits[i].resolve(v)
                end
                return {p = kits[1].promise}
            end,
            cycle3 = function(self)
                local a, b, c = Promise.kit(), Promise.kit(), Promise.kit()
                a.resolve({n = 1, nxt = b.promise})
                b.resolve({n = 2, nxt = c.promise})
                c.resolve({n = 3, nxt = a.promise})
                return {p = a.promise}
            end,
            rejNames = function(self)
                local c, d = Promise.kit(), Promise.kit()
                d.resolve({n = 4})
                c.reject({d = d.promise})
                return {c = c.promise}
            end,
            -- failing entry exports X (settled) before failing on "z"
            exportThenFail = function(self)
                local a, x, y = Promise.kit(), Promise.kit(), Promise.kit()
                x.resolve({n = "x"})
                y.resolve({n = "y"})
                a.resolve({a = x.promise, z = print})
                return {a = a.promise, y = y.promise}
            end,
            asArg = function(self, peer)
                local a, b = Promise.kit(), Promise.kit()
                a.resolve({b = b.promise, n = 1})
                b.resolve({a = a.promise, n = 2})
                return E(peer):takeAB(a.promise, b.promise):await()
            end,
            takeAB = function(self, pa, pb)
                local va, vb = pa:await(), pb:await()
                return {n1 = va.n, n2 = vb.n, same1 = va.b == pb, same2 = vb.a == pa}
            end,
            hostileTostring = function(self, peer)
                local a, c = Promise.kit(), Promise.kit()
                c.reject(setmetatable({}, {__tostring = function()
                    E(peer):ping()
                    return "boom"
                end}))
                a.resolve({c = c.promise})
                return {a = a.promise}
            end,
            hostileTostringMain = function(self, peer)
                -- same, but the unpassable reason is the main value's
                local s = settled({n = 9})
                error(setmetatable({}, {__tostring = function()
                    E(peer):take1(s)
                    return "boom"
                end}))
            end,
            hostileFollow = function(self, peer)
                local imp = E(peer):ping()
                local q = Promise.kit()
                local a, c = Promise.kit(), Promise.kit()
                c.reject(setmetatable({}, {__tostring = function()
                    q.resolve(imp)
                    return "boom"
                end}))
                a.resolve({c = c.promise})
                return {a = a.promise, q = q.promise}
            end,
            take1 = function(self, p) return p:await().n end,
            scribbleFn = function(self)
                local a = Promise.kit().promise
                rawset(a, 1, 1); rawset(a, 2, print)
                return {a = a}
            end,
            scribbleSelf = function(self)
                local a = Promise.kit().promise
                rawset(a, 1, 1); rawset(a, 2, {me = a})
                return {a = a}
            end,
            -- Junk in a promise's vref field (the fifth, which only
            -- promises the kernel knows fill): an object's vref bits, a
            -- vref's text, a float.  Each promise still travels as
            -- itself.
            scribbleVref = function(self)
                local a, b, c = Promise.kit(), Promise.kit(), Promise.kit()
                rawset(a.promise, 5, 1)
                rawset(b.promise, 5, "p-999999")
                rawset(c.promise, 5, -0.5)
                a.resolve({b = b.promise, c = c.promise})
                b.resolve("B")
                c.resolve("C")
                return {a = a.promise}
            end,
            scribbleRejNil = function(self)
                local a = Promise.kit().promise
                rawset(a, 1, 2)
                return {a = a}
            end,
            -- n promises settled (some rejected) to records naming random
            -- others, cycles and self-references included; `edges` says
            -- which (seeded, so a failure can be replayed).
            graph = function(self, seed, n)
                local x = seed
                local function rand(m)
                    x = (x * 1103515245 + 12345) % 2147483648
                    return x % m + 1
                end
                local kits, edges, rejected = {}, {}, {}
                for i = 1, n do kits[i] = Promise.kit() end
                for i = 1, n do
                    edges[i], rejected[i] = {}, rand(5) == 1
                    for e = 1, rand(4) - 1 do edges[i][e] = rand(n) end
                end
                for k = 1, n do
                    local i = (k * 7919) % n + 1 -- settle in a mixed order
                    local v = {id = i, refs = {}}
                    for e, j in ipairs(edges[i]) do
                        v.refs[e] = kits[j].promise
                    end
                    if rejected[i] then kits[i].reject(v)
                    else kits[i].resolve(v) end
                end
                return {root = kits[1].promise, edges = edges,
                        rejected = rejected}
            end,
            afterwards = function(self) return "alive" end,
            -- One-way sends that wait in the run queue (test_e2e_resolve).
            sendMany = function(self, peer, n)
                for i = 1, n do E.sendOnly(peer):note(i) end
                return n
            end,
            note = function(self, i) notes[#notes + 1] = i end,
            notes = function(self) return notes end,
        })
    end,
}
