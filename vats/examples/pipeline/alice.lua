-- Pipelining and an error crossing vats.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Alice", {
            bootstrap = function(self, vats)
                -- openAccount has not answered yet, but we can already
                -- send to the account it will return: the kernel holds
                -- these messages and delivers them, in order, once the
                -- promise resolves.
                local account = E(vats.bank):openAccount("alice", 100)
                local deposited = E(account):deposit(50)
                local withdrawn = E(account):withdraw(30)
                -- A method that raises in the bank rejects our promise.
                local ok, overdraft = pcall(function()
                    return E(account):withdraw(1000):await()
                end)
                return {
                    deposited = deposited:await(),
                    withdrawn = withdrawn:await(),
                    overdraft = overdraft,
                }
            end,
        })
    end,
}
