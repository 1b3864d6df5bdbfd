-- A vat that greets whoever asks, and asks them for a greeting back.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local greeting = parameters.greeting or "Hello"
        return Far("Greeter", {
            greet = function(self, name, peer)
                local reply = E(peer):hi("greeter"):await()
                return ("%s, %s! (%s replied: %s)"):format(greeting, name,
                    name, reply)
            end,
        })
    end,
}
