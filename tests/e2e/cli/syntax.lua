-- A vat whose main chunk does not parse.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local x = = 1
    end,
}
