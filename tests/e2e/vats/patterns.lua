-- Pathological patterns on request (test_e2e_patterns.c).  Each search
-- backtracks for minutes in Lua's own C matcher, where no hook fires;
-- the vat's time budget must stop it.  count() shows the vat still
-- answers (an in-memory counter, reset when the vat is restarted).
local n = 0
local s = string.rep("a", 20000)
local p = ".-.-.-b"
local pattern

return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Patterns", {
            bootstrap = function(self) return "ready" end,
            count = function(self) n = n + 1 return n end,
            find = function(self) return string.find(s, p) end,
            method = function(self) return s:find(p) end,
            match = function(self) return s:match(p) end,
            gmatch = function(self)
                for _ in s:gmatch(p) do end
                return "done"
            end,
            gsub = function(self) return (s:gsub(p, "x")) end,
            gsubFunction = function(self)
                return (s:gsub(p, function(m) return m end))
            end,
            plain = function(self)
                local big = string.rep("a", 1 << 20)
                return big:find(string.rep("a", 1 << 19) .. "b", 1, true)
            end,
            -- Each caught kill is retried: the kill must be sticky.
            pcallFind = function(self)
                while true do pcall(string.find, s, p) end
            end,
            -- A replacement of many "%0"s for empty matches: nothing is
            -- added, so the memory cap never stops the expansion.
            gsubTemplate = function(self)
                return (s:gsub("", ("%0"):rep(1 << 18)))
            end,
            -- Lua's sort compares strings in C, a whole 256 KB each.
            sortStrings = function(self)
                local big, t = ("x"):rep(1 << 18), {}
                for i = 1, 40000 do t[i] = big end
                table.sort(t)
                return "sorted"
            end,
            -- Lua's compiler joins the jump lists of a chain of "or"s
            -- in quadratic time: 200 KB of text compile for seconds.
            loadOrs = function(self)
                return load("local a; return " .. ("a or "):rep(40000) .. "a")
            end,
            -- A set of 1 MiB is read from end to end for each byte
            -- it is tested on: as an item, repeated (greedy and lazy)
            -- and as a frontier, it must count as more than one step.
            -- prepareSet builds one in a delivery of its own, so the
            -- budget cannot run out before the search starts.
            prepareSet = function(self, which)
                local set = ("b"):rep(1 << 20)
                if which == "item" then pattern = "[" .. set .. "]c"
                elseif which == "greedy" then pattern = "[" .. set .. "a]*c"
                elseif which == "lazy" then pattern = "[" .. set .. "a]-c"
                else pattern = "%f[" .. set .. "]c" end
                return "ready"
            end,
            longSet = function(self) return s:find(pattern) end,
            -- Ordinary patterns on a subject over 256 KiB, which the
            -- previous wrappers refused.
            big = function(self)
                local t = string.rep("key=value; ", 40000)
                local k = 0
                for a, b in t:gmatch("(%w+)=(%w+)") do k = k + 1 end
                return {pairs = k, first = t:match("^(%w+)"),
                        semis = select(2, t:gsub(";", ""))}
            end,
        })
    end,
}
