-- Deliberately broken: line 4 has a syntax error (launch must fail and
-- name this file and line).
return {
    buildRootObject = function(vatPowers, parameters, baggage) return ) end,
}
