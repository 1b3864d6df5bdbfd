-- The bootstrap vat: meets the greeter and returns what it said.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local root
        root = Far("Hello", {
            hi = function(self, who)
                return "hi " .. who .. ", nice to meet you"
            end,
            bootstrap = function(self, vats, services)
                local answer = E(vats.greeter):greet("hello", root):await()
                print("the greeter said: " .. answer)
                return answer
            end,
        })
        return root
    end,
}
