-- Exporter of test_e2e_gcleak.c: fresh objects each call, results that
-- settle later (or through a chain) to them, and one object it keeps.
local pings, kept, got = 0, nil, 0
local kits = {}
local function thing()
    return Far("Thing", {
        ping = function() pings = pings + 1 return "pong" end,
    })
end
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Exp", {
            make = function() return thing() end,
            later = function(self, name)
                kits[name] = Promise.kit()
                return kits[name].promise
            end,
            -- A promise settled to a promise settled later to a thing.
            chain = function(self, name)
                local a = Promise.kit()
                kits[name] = Promise.kit()
                a.resolve(kits[name].promise)
                return a.promise
            end,
            fire = function(self, name)
                kits[name].resolve(thing())
                kits[name] = nil
                return true
            end,
            pings = function() return pings end,
            -- Settles name's promise to something no one can send to.
            spoil = function(self, name, how)
                if how == "reject" then kits[name].reject("spoilt")
                else kits[name].resolve({data = 1}) end
                kits[name] = nil
                return true
            end,
            look = function(self, v) return "seen" end,
            bundle = function(self)
                kits.b = Promise.kit()
                return {p = kits.b.promise, o = thing()}
            end,
            -- A result that follows a promise the driver decides.
            relay = function(self, who) return E(who):mine() end,
            -- A promise argument, settled later by its sender to an object.
            awaitPing = function(self, p) return E(p:await()):ping():await() end,
            got = function() return got end,
            take = function(self, o) return E(o):ping():await() end,
            keepOne = function() kept = kept or thing() return kept end,
            -- Sends o back to who (not awaited), and answers at once.
            sendBack = function(self, who, o)
                E.sendOnly(who):receive(o)
                return "sent"
            end,
            receive = function(self, o) got = got + 1 return "ok" end,
            keepArg = function(self, o) kept = o return "kept" end,
            -- Sends its objects out and ends before they arrive.
            sendThenDie = function(self, who, n)
                for i = 1, n do E.sendOnly(who):receive(thing()) end
                vatPowers.exit(false, "bye") -- success: the sends go out
                return "x"
            end,
            -- Failure: this crank is rolled back and the vat ends.
            die = function(self) vatPowers.exit(true, "bye") return "x" end,
            spin = function(self, o) got = got + 1 while true do end end,
        })
    end,
}
