-- The differential driver of test_lpattern.c, run with (O, M): Lua's own
-- string table and one holding our find, match, gmatch and gsub.  It
-- returns two functions; each runs a call on both sides and returns nil
-- when the outcomes read the same, or a message showing both.
--
-- outcome() describes what a call returned (types included) or the error
-- it raised; a gmatch iterator is drained.  Every call goes through the
-- local `f` in call(), never as a tail call, so "bad argument" messages
-- name the function the same way for both sides.
local O, M = ...
local pack, unpack, concat = table.pack, table.unpack, table.concat
local fmt, mtype = string.format, math.type

local function show(v)
    local t = type(v)
    if t == "string" then return fmt("%q", v) end
    if t == "number" then return mtype(v) .. ":" .. fmt("%q", v) end
    if t == "boolean" or t == "nil" then return tostring(v) end
    return t -- no addresses
end

local function tuple(t)
    local out = {}
    for i = 1, t.n do out[i] = show(t[i]) end
    return "(" .. concat(out, ",") .. ")"
end

local function call(f, ...)
    local r = pack(f(...))
    return r
end

local function outcome(f, ...)
    local ok, r = pcall(call, f, ...)
    if not ok then return "error " .. show(r) end
    local out = {tuple(r)}
    if type(r[1]) == "function" then
        for _ = 1, 64 do
            local ok2, t = pcall(call, r[1])
            if not ok2 then out[#out + 1] = "error " .. show(t) break end
            if t.n == 0 then out[#out + 1] = "end" break end
            out[#out + 1] = tuple(t)
        end
    end
    return concat(out, " ")
end

local function differ(what, a, b)
    if a == b then return nil end
    return fmt("%s\n  lua:  %s\n  ours: %s", what, a, b)
end

-- Replacement values for gsub, chosen by number (random cases) or as R[i]
-- (hand-written ones).  Deterministic, so both sides see the same.
local R = {
    {a = "<A>", b = false, ab = "[ab]", [1] = "one", [2] = 2, c = true,
     ["("] = {}},
    function(...)
        local n, a = select("#", ...), ...
        if a == "b" then return false end
        if a == "" then return nil end
        if mtype(a) == "integer" then return a * 10 end
        if a == "ba" then return {} end
        return "<" .. tuple(pack(...)) .. n .. ">"
    end,
}

local all = {}
for i = 0, 255 do all[#all + 1] = string.char(i) end
all = concat(all)

-- A hand-written case: an expression over F (either side), all and R.
local function expr(text)
    local code = "local F, all, R = ... return " .. text
    local f = assert(load(code, "=case", "t"))
    return differ(text, outcome(f, O, all, R), outcome(f, M, all, R))
end

-- A random case: F[fname](...), with argument 3 replaced by R[repl] when
-- repl is not 0.
local function random(fname, repl, ...)
    local args = pack(...)
    if repl ~= 0 then args[3] = R[repl] end
    local shown = {}
    for i = 1, args.n do shown[i] = show(args[i]) end
    return differ(fname .. "(" .. concat(shown, ", ") .. ")",
                  outcome(O[fname], unpack(args, 1, args.n)),
                  outcome(M[fname], unpack(args, 1, args.n)))
end

return expr, random
