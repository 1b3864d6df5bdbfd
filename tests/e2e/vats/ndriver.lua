-- Bootstrap vat of test_e2e_notify.c: notify batches whose values name
-- promises of the same batch, and results forwarded to promises.
local x, z

return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("NotifyDriver", {
            bootstrap = function(self, vats)
                x, z = vats.phelper, vats.zhelper
                return "ready"
            end,
            -- One notify settles A, then B whose value names A: B's value
            -- must hold the very promise A settled (not a new import).
            backRef = function(self)
                local pA = E(z):makeA(x):await().a
                local pB = E(z):later("B")
                E(x):ping():await()
                E(x):fire("A", 1)
                E(z):fireWithHeld("B")
                local vb = pB:await()
                return {same = vb.a == pA, a = vb.a:await()}
            end,
            -- Two settled promises naming each other arrive, and each
            -- names the very promise the other is.
            mutual = function(self)
                local r = E(x):mutual():await()
                local va = r.a:await()
                local vb = va.b:await()
                return {n1 = va.n, n2 = vb.n, same = vb.a == r.a}
            end,
            -- A ring of 40 (past a batch's inline entries): each value
            -- names the very promise the batch settled, back to the first.
            ring = function(self)
                local first = E(x):ring(40):await().first
                local p, sum = first, 0
                for _ = 1, 40 do
                    local v = p:await()
                    sum = sum + v.n
                    p = v.next
                end
                return {sum = sum, back = p == first}
            end,
            mutualBad = function(self)
                local va = E(x):mutualBad():await().a:await()
                local ok, err = pcall(function() return va.b:await() end)
                local _, c = pcall(function() return va.c:await() end)
                return {n1 = va.n, ok = ok, why = tostring(err), c = c}
            end,
            -- A result forwarded to a promise settled later: a vat that
            -- awaits the result gets the value, not a promise.
            forwarded = function(self)
                local r = E(x):fooSlow()
                local b = E(x):barAwait(r)
                E(x):releaseFoo():await()
                E(x):settleInner():await()
                return b:await()
            end,
        })
    end,
}
