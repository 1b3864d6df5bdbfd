-- Times Lua's pattern functions (string) against ours (M) on typical
-- patterns: LVAT_PATTERN_BENCH=1 build/tests/test_lpattern.  Best of five
-- runs each; both sides must give the same answer.
local O, clock, fmt = string, os.clock, string.format

local words = {}
for i = 1, 100000 do
    words[i] = i % 7 == 0 and tostring(i) or "word" .. i % 13
end
local text = table.concat(words, " ")
local parens = ("(a(b)c) x "):rep(50000)

local function rep(n, f)
    local r
    for _ = 1, n do r = f() end
    return r
end

local benches = {
    {"gmatch %a+ (700 KB)", function(F)
        local n = 0
        for _ in F.gmatch(text, "%a+") do n = n + 1 end
        return n
    end},
    {"gsub %s+", function(F) return (F.gsub(text, "%s+", "  ")) end},
    {"gsub (%w+) -> <%1>", function(F)
        return (F.gsub(text, "(%w+)", "<%1>"))
    end},
    {"gsub %f[%w]%w+", function(F)
        return (F.gsub(text, "%f[%w]%w+", "X"))
    end},
    {"match trim x2e5", function(F)
        return rep(200000, function()
            return F.match("   some text here  ", "^%s*(.-)%s*$")
        end)
    end},
    {"match key = value x2e5", function(F)
        return rep(200000, function()
            return F.match("  name = value ", "(%w+)%s*=%s*(%w+)")
        end)
    end},
    {"find %d+ x2e5", function(F)
        return rep(200000, function()
            return F.find("abc def 12345 ghi", "%d+")
        end)
    end},
    {"find plain x200 (700 KB)", function(F)
        return rep(200, function() return F.find(text, "zzz", 1, true) end)
    end},
    {"gmatch %b() (500 KB)", function(F)
        local n = 0
        for _ in F.gmatch(parens, "%b()") do n = n + 1 end
        return n
    end},
    {"find .-.-b (300 a)", function(F)
        return F.find(("a"):rep(300), ".-.-b")
    end},
}

for _, b in ipairs(benches) do
    local best = {math.huge, math.huge}
    for _ = 1, 5 do
        for k, F in ipairs({O, M}) do
            local t0 = clock()
            b[2](F)
            best[k] = math.min(best[k], clock() - t0)
        end
    end
    assert(b[2](O) == b[2](M), b[1])
    print(fmt("%-26s lua %7.1f ms  ours %7.1f ms  x%.2f", b[1],
              best[1] * 1e3, best[2] * 1e3, best[2] / best[1]))
end
