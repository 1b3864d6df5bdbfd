-- Bootstrap vat of test_e2e_resolve.c: follows the values of settled
-- promises rhelper.lua exports in batches (chains, cycles, failures,
-- hostile reasons) and reports what arrived.
local x, z
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("RDriver", {
            bootstrap = function(self, vats)
                x, z = vats.rhelper, vats.zhelper
                return "ready"
            end,
            chain = function(self, n, badAt)
                local p = E(x):chain(n, badAt or 0):await().p
                local count, last = 0, nil
                while p do
                    local ok, v = pcall(function() return p:await() end)
                    if not ok then return {count = count, err = tostring(v)} end
                    count = count + 1
                    last = v.n
                    p = v.nxt
                end
                return {count = count, last = last}
            end,
            cycle3 = function(self)
                local p0 = E(x):cycle3():await().p
                local p, ns = p0, {}
                for i = 1, 3 do
                    local v = p:await()
                    ns[#ns + 1] = v.n
                    p = v.nxt
                end
                return {ns = ns, back = p == p0}
            end,
            rejNames = function(self)
                local c = E(x):rejNames():await().c
                local ok, err = pcall(function() return c:await() end)
                local dn = type(err) == "table" and err.d and err.d:await().n
                return {ok = ok, dn = dn}
            end,
            exportThenFail = function(self)
                local r = E(x):exportThenFail():await()
                local ok, err = pcall(function() return r.a:await() end)
                return {ok = ok, err = tostring(err), y = r.y:await().n,
                        alive = E(x):afterwards():await()}
            end,
            -- Walks rhelper's graph from its root: every promise reached
            -- holds the record its edges say, settled the way they say,
            -- and each id arrives as one promise.  Returns how many.
            graph = function(self, seed, n)
                local g = E(x):graph(seed, n):await()
                local byId, worklist, seen = {}, {{g.root, 1}}, 0
                while #worklist > 0 do
                    local p, want = table.unpack(table.remove(worklist))
                    local ok, v = pcall(function() return p:await() end)
                    if type(v) ~= "table" or v.id ~= want then
                        error(("reached %s, want p%d"):format(tostring(v),
                                                              want))
                    end
                    if ok == g.rejected[want] then
                        error(("p%d: settled the wrong way"):format(want))
                    end
                    if byId[want] == nil then
                        byId[want], seen = p, seen + 1
                        local edges = g.edges[want]
                        if #v.refs ~= #edges then
                            error(("p%d: %d refs, want %d"):format(want,
                                  #v.refs, #edges))
                        end
                        for e, q in ipairs(v.refs) do
                            worklist[#worklist + 1] = {q, edges[e]}
                        end
                    elseif byId[want] ~= p then
                        error(("p%d arrived as two promises"):format(want))
                    end
                end
                local reach, stack, mark = 0, {1}, {}
                while #stack > 0 do
                    local i = table.remove(stack)
                    if not mark[i] then
                        mark[i], reach = true, reach + 1
                        for _, j in ipairs(g.edges[i]) do
                            stack[#stack + 1] = j
                        end
                    end
                end
                if reach ~= seen then
                    error(("reached %d, want %d"):format(seen, reach))
                end
                return seen
            end,
            asArg = function(self)
                return E(x):asArg(z):await()
            end,
            hostile = function(self, m)
                local ok, r = pcall(function() return E(x)[m](E(x), z):await() end)
                local out = {ok = ok, r = not ok and tostring(r) or nil}
                if ok and type(r) == "table" and r.a then
                    local ok2, e2 = pcall(function() return r.a:await() end)
                    out.a = tostring(ok2) .. ":" .. (type(e2) == "table"
                                                     and "table" or tostring(e2))
                    if ok2 and type(e2) == "table" and e2.c then
                        local ok3, e3 = pcall(function() return e2.c:await() end)
                        out.c = tostring(ok3) .. ":" .. tostring(e3)
                    end
                end
                local ok4, al = pcall(function() return E(x):afterwards():await() end)
                out.alive = tostring(ok4) .. ":" .. tostring(al)
                return out
            end,
            scribble = function(self, m)
                local ok, r = pcall(function() return E(x)[m](E(x)):await() end)
                local out = {ok = ok}
                if ok then
                    local ok2, v = pcall(function() return r.a:await() end)
                    out.a = tostring(ok2) .. ":" .. (type(v) == "table"
                                                     and "table" or tostring(v))
                    if ok2 and type(v) == "table" and v.me then
                        out.meSame = v.me == r.a
                    end
                else out.r = tostring(r) end
                local ok4, al = pcall(function() return E(x):afterwards():await() end)
                out.alive = tostring(ok4) .. ":" .. tostring(al)
                return out
            end,
        })
    end,
}
