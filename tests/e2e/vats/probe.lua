-- Probes its own sandbox and reports what it found (test_e2e_sandbox.c).
-- Each report entry is a string or a boolean the test checks.
local function err(f, ...)
    local ok, e = pcall(f, ...)
    return ok and "no error" or tostring(e)
end

local forbidden = {"io", "os", "debug", "package", "dofile", "loadfile",
                   "collectgarbage", "rawSyscalls", "sys", "import"}

return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local root
        root = Far("Probe", {
            bootstrap = function(self, vats) return "ready" end,
            echo = function(self, v) return v end,
            globals = function(self)
                local present = {}
                for _, name in ipairs(forbidden) do
                    if _ENV[name] ~= nil then present[#present + 1] = name end
                end
                if string.dump ~= nil or ("").dump ~= nil then
                    present[#present + 1] = "string.dump"
                end
                return table.concat(present, ",")
            end,
            load = function(self)
                marker = "vat global"
                local f = load("return marker, _ENV == ...")
                local m, same = f(_ENV)
                local bin, why = load("\27Lua\84\0\25\147\13\10\26\10")
                return {text = m, sameEnv = same, binary = tostring(bin),
                        why = why, env = err(load, "x = 1", "c", "t", {})}
            end,
            strings = function(self)
                local s = string.rep("x", 300 * 1024)
                return {meta = getmetatable(""),
                        setmeta = err(setmetatable, "", {}),
                        -- lauxlib names library functions from _LOADED
                        argerr = err(string.rep),
                        mathArgerr = err(math.floor, "x"),
                        -- base functions from package.loaded._G, the
                        -- vat's env
                        baseArgerr = err(ipairs),
                        find = select(2, string.find(s, "x+")),
                        method = #s:match("(x+)$"),
                        plain = s:find("y", 1, true) == nil}
            end,
            -- Patch every function of our libraries (the string
            -- metatable's too) and tostring and pcall: the runtime must
            -- not care, not even its baggage module, loaded only now.
            patched = function(self)
                local saved, pc, str = {}, pcall, tostring
                for _, lib in ipairs({string, table, math, utf8}) do
                    for k, f in pairs(lib) do
                        if type(f) == "function" then
                            saved[#saved + 1] = {lib, k, f}
                            lib[k] = function() error("patched " .. k) end
                        end
                    end
                end
                tostring, pcall = nil, nil
                local ok, r = pc(function()
                    return E(root):echo({list = {1, 2}, s = "x"}):await()
                end)
                local _, noMethod = pc(function()
                    return E(root):nope():await()
                end)
                local _, why = pc(function()
                    return E(root):refuse():await()
                end)
                local _, bag = pc(function()
                    baggage:set("k", 1)
                    return baggage:get("k")
                end)
                local _, initErr = pc(function() baggage:init("k", 2) end)
                local _, keyErr = pc(function() baggage:set(5, 1) end)
                local keys = {}
                for key in baggage:keys() do keys[#keys + 1] = key end
                for _, s in ipairs(saved) do s[1][s[2]] = s[3] end
                tostring, pcall = str, pc
                return {ok = ok, s = r.s, n = #r.list,
                        noMethod = tostring(noMethod), why = tostring(why),
                        bag = bag, initErr = tostring(initErr),
                        keyErr = tostring(keyErr), key = keys[1]}
            end,
            -- A reason that is no passable value (a function in a table
            -- with a metatable): the caller gets its __tostring's text.
            refuse = function(self)
                return Promise.reject(setmetatable({f = print}, {
                    __tostring = function() return "custom reason" end}))
            end,
            gc = function(self)
                return err(setmetatable, {}, {__gc = function() end})
            end,
            -- A metatable whose own __index adds __gc while setmetatable
            -- looks for one: no finalizer may come of it (finalizers run
            -- where the kill hook cannot stop them).
            gcSneaked = function(self)
                local ran = false
                local mt = setmetatable({}, {__index = function(t, k)
                    if k == "__gc" then
                        rawset(t, "__gc", function() ran = true end)
                    end
                end})
                local ok = pcall(setmetatable, {}, mt)
                for i = 1, 20000 do local _ = {i, tostring(i)} end
                return tostring(ok) .. " " .. tostring(ran)
            end,
            -- Closes nested in closes: an error past 100 (or 256 KB of C
            -- stack), never a crash (Lua 5.4.4 does not count them
            -- against its C stack).
            closeNest = function(self, depth)
                local co = false
                for i = 1, depth do
                    local previous = co
                    co = coroutine.create(function()
                        local guard <close> = setmetatable({}, {__close =
                            function()
                                if previous then
                                    assert(coroutine.close(previous))
                                end
                            end})
                        coroutine.yield()
                    end)
                    coroutine.resume(co)
                end
                local ok, e = coroutine.close(co)
                return ok and "closed" or tostring(e)
            end,
            -- The table functions' errors, worded as Lua 5.4.4 words them.
            tableErrors = function(self)
                return err(table.remove, {1, 2}, 5) .. "|" ..
                       err(table.concat, {1, nil, 3}, ",", 1, 3) .. "|" ..
                       err(table.insert, {}, 3, 1) .. "|" ..
                       err(table.insert, {}, 1, 2, 3) .. "|" ..
                       err(table.move, {}, 0, math.maxinteger, 2) .. "|" ..
                       err(table.move, {}, 1, math.maxinteger, 2)
            end,
            repEmpty = function(self)
                return #string.rep("", math.maxinteger) ..
                       #string.rep("", math.maxinteger, "") ..
                       string.rep("ab", 3, ",")
            end,
            presence = function(self, p)
                return {call = err(function() return p:foo(1) end),
                        meta = getmetatable(p), text = tostring(p),
                        set = err(function() p.x = 1 end),
                        baggage = getmetatable(baggage),
                        bagset = err(function() baggage.x = 1 end)}
            end,
            coroutines = function(self)
                local me = coroutine.running()
                return {resume = select(2, coroutine.resume(me)),
                        close = err(coroutine.close, me),
                        yield = err(coroutine.yield, 1),
                        yieldable = coroutine.isyieldable()}
            end,
            require = function(self)
                local m = require("probemod")
                return {answer = m.answer, cached = require("probemod") == m,
                        up = err(require, "../../../vats/examples/hello/hello"),
                        abs = err(require, "/etc/passwd"),
                        other = err(require, "examples.hello.greeter"),
                        std = err(require, "io")}
            end,
            -- Errors that are tables travel by their raw message field; no
            -- vat metamethod may run inside the marshaller.
            raiseTable = function(self) error({message = "a table error"}) end,
            raiseSneaky = function(self)
                error(setmetatable({}, {
                    __index = function() sneaked = true return "via __index" end,
                    __tostring = function() return "sneaky error" end}))
            end,
            raisePromise = function(self) error(Promise.kit().promise) end,
            sneaked = function(self) return sneaked == true end,
            print = function(self)
                print("hello from the probe", 42, nil)
                return true
            end,
        })
        return root
    end,
}
