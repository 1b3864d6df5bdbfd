-- buildRootObject may not await: launching this vat must fail.
return {
    buildRootObject = function(vatPowers, parameters, baggage)
        Promise.kit().promise:await()
        return Far("Never", {})
    end,
}
