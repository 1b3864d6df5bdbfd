-- bootstrap returns something that cannot be marshalled (a function
-- nested inside a table): the launch fails naming its path.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("ReturnsFn", {
            bootstrap = function(self, vats)
                return {ok = true, nested = {fn = print}}
            end,
        })
    end,
}
