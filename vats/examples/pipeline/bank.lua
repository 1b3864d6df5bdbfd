-- A bank vat: accounts are objects other vats can hold and call.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Bank", {
            openAccount = function(self, owner, initial)
                local balance = initial
                return Far("Account", {
                    deposit = function(self, amount)
                        balance = balance + amount
                        return balance
                    end,
                    withdraw = function(self, amount)
                        if amount > balance then
                            error(("insufficient funds: %s has %d, asked "
                                .. "for %d"):format(owner, balance, amount))
                        end
                        balance = balance - amount
                        return balance
                    end,
                })
            end,
        })
    end,
}
