-- Bootstrap vat of test_e2e_vrefs.c: promises that cross to another vat
-- and back in each state of their life (pending import, export, export
-- after a failed marshal gave its number back, export forwarded to an
-- import, settled import), so every table a vat keeps by vref is used.
local h, kept
local function try(f)
    local ok, v = pcall(f)
    return tostring(ok) .. ":" .. tostring(v)
end
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("VrefDriver", {
            bootstrap = function(self, vats) h = vats.vrhelper; return "ready" end,
            pendingBack = function(self)
                local r = E(h):later()
                local back = E(h):echo({p = r}):await()
                E(h):fire(7)
                return {v = r:await(), back = back.p:await()}
            end,
            exportBack = function(self)
                local k = Promise.kit()
                local back = E(h):echo({p = k.promise}):await()
                E(h):hold(k.promise):await()
                k.resolve(5)
                return {same = back.p == k.promise,
                        held = E(h):awaitHeld():await().v}
            end,
            rollbackThenExport = function(self)
                local k = Promise.kit()
                local bad = try(function()
                    return E(h):echo({p = k.promise, f = print})
                end)
                local back = E(h):echo({p = k.promise}):await()
                E(h):hold(k.promise):await()
                k.resolve(9)
                return {bad = bad, same = back.p == k.promise,
                        held = E(h):awaitHeld():await().v}
            end,
            forwardThenResend = function(self)
                local k = Promise.kit()
                E(h):hold(k.promise):await()
                local r = E(h):later()
                k.resolve(r)
                local back = E(h):echo({p = k.promise}):await()
                E(h):fire(11)
                return {held = E(h):awaitHeld():await().v, r = r:await(),
                        back = back.p:await()}
            end,
            settledResend = function(self)
                local r = E(h):add(1, 2)
                r:await()
                local back = E(h):echo({p = r}):await()
                return {v = back.p:await()}
            end,
            -- Lends a new object to the helper, which does not keep it,
            -- and returns it (the host learns its kref).
            lend = function(self)
                kept = Far("Lent", {})
                E(h):look(kept):await()
                return kept
            end,
            -- The same, when the helper sends to the object it is lent.
            lendPoked = function(self)
                kept = Far("Lent", {noop = function() end})
                return {kept = kept, why = E(h):poke(kept):await()}
            end,
            -- n arguments sent to the helper (a send that waits for a
            -- local promise, or one to the presence) or to a local
            -- object: more than a Lua stack holds twice.
            many = function(self, how, n, method)
                local t = {}
                for i = 1, n do t[i] = i end
                local to = h
                if how == "local" then
                    to = Far("Here", {
                        take = function(self, ...) return "took" end,
                        count = function(self, ...)
                            return select("#", ...) .. ":"
                                   .. tostring((select(-1, ...)))
                        end})
                end
                if how == "direct" then
                    return E(to)[method](E(to), table.unpack(t, 1, n)):await()
                end
                local k = Promise.kit()
                local r = E(k.promise)[method](E(k.promise),
                                              table.unpack(t, 1, n))
                t = nil
                k.resolve(to)
                return r:await()
            end,
            pipeObj = function(self)
                local o = E(h):obj()
                local a = E(o):hit()
                local o2 = o:await()
                return {a = a:await(), b = E(o2):hit():await()}
            end,
        })
    end,
}
