-- Makes syscalls a correct runtime never makes (the test-only global
-- rawSyscalls), after doing some legal work the rollback must undo.
local peer
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local function work()
            baggage:set("scratch", "written in the bad crank")
            E(peer):poke()
        end
        return Far("Rogue", {
            bootstrap = function(self, vats)
                peer = vats.bystander
                baggage:set("kept", "from a committed crank")
                -- A promise we decide, held by the bystander: the
                -- termination must reject it.
                E(peer):hold(Promise.kit().promise)
                return "ready"
            end,
            hello = function(self) return "still here" end,
            badSend = function(self)
                work()
                rawSyscalls.send("o-99", "steal", {}, 0, nil)
                return "not reached"
            end,
            -- The result of a send is decided by its receiver, not us.
            badResolve = function(self)
                work()
                local p = E(peer):inc()
                rawSyscalls.resolve(rawSyscalls.vrefOf(p), false, 1)
                return "not reached"
            end,
            quit = function(self, failure)
                work()
                vatPowers.exit(failure, "quitting")
                return "quit"
            end,
            -- Exits with this message's result still its to decide.
            quitPending = function(self)
                vatPowers.exit(false, "quitting")
                return Promise.kit().promise:await()
            end,
        })
    end,
}
