-- A vat whose buildRootObject raises.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        error("no root for you")
    end,
}
