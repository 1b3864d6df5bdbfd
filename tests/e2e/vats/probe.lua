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
                        find = select(2, string.find(s, "x+")),
                        method = #s:match("(x+)$"),
                        plain = s:find("y", 1, true) == nil}
            end,
            -- Patch our copies of the libraries: the runtime must not care.
            patched = function(self)
                local saved = {string.format, table.concat, tostring, pcall}
                string.format = function() error("patched format") end
                table.concat = function() error("patched concat") end
                tostring, pcall = nil, nil
                local ok, r = saved[4](function()
                    return E(root):echo({list = {1, 2}, s = "x"}):await()
                end)
                local noMethod = saved[4](function()
                    return E(root):nope():await()
                end)
                string.format, table.concat, tostring, pcall =
                    saved[1], saved[2], saved[3], saved[4]
                local _, e = pcall(function() return E(root):nope():await() end)
                return {ok = ok, s = r.s, n = #r.list, noMethod = e}
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
