-- buildRootObject raises on line 4: the launch must fail naming it.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        error("cannot build this one")
    end,
}
