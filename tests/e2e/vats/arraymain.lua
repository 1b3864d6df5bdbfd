-- A main module whose table has an array part, numbers among it: nothing
-- of it is taken for the vat's earlier imports at a first start.
local M = {12, 13, "first"}
function M.buildRootObject()
    return Far("ArrayMain", {
        bootstrap = function() return "ready " .. #M end,
    })
end
return M
