-- Method lookup and failure wording (bindings/lliveslots.c): a field that
-- is not a function, an __index that raises or finds, a local send to a
-- missing method, rejections whose reasons do or do not say something,
-- and a one-way message whose error cannot be printed.
local Thing = Far("Thing", {
    ok = function() return "ok" end,
    unprintable = function()
        error(setmetatable({}, {__tostring = function() error("no") end}))
    end,
})
local root
root = Far("Lookup", {
    bootstrap = function() return "ready" end,
    localMissing = function() return E(Thing):absent():await() end,
    rejectWith = function(self, how)
        if how == "tostring" then
            error(setmetatable({}, {__tostring = function() return "said so" end}))
        elseif how == "default" then
            error(setmetatable({}, {}))
        end
        error("plain string")
    end,
    returnsFn = function() return print end,
    oneWayUnprintable = function()
        E.sendOnly(Thing):unprintable()
        return E(Thing):ok():await()
    end,
})
root.notfn = 5
setmetatable(root, {__index = function(t, k)
    if k == "boom" then error("index raised for boom", 0) end
    if k == "viaIndex" then return function() return "found via __index" end end
end})
return { buildRootObject = function() return root end }
