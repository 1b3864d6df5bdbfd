-- Tries to get out of its sandbox (test_e2e_escape.c): to reach the
-- runtime's private environment, to run code where the kill cannot stop
-- it, to crash the process, to drive the runtime's own threads, to name
-- vrefs it was never given.  Each method reports what it got.
local echo
local kit, ranIndex = nil, false

-- Every table, function, thread and userdata reachable from `roots` by
-- pairs and getmetatable: what of the runtime's it shows.  A metatable a
-- vat can read must be its own (the runtime's are protected), no key may
-- name the runtime's private parts, and the string functions may be found
-- only in the vat's own copy.
local private = {sys = true, import = true, slotToVal = true,
                 valToSlot = true, remotables = true, exports = true,
                 resolveVpid = true, worker = true, dispatch = true,
                 DONE = true, AWAIT = true, mt = true, api = true,
                 methods = true, rollback = true, finish = true}

local function walk(roots, found)
    local seen, queue, i = {}, {}, 1
    for name, v in pairs(roots) do queue[#queue + 1] = {name, v} end
    while i <= #queue do
        local path, v = queue[i][1], queue[i][2]
        i = i + 1
        local tv = type(v)
        if tv ~= "string" and tv ~= "number" and tv ~= "boolean"
                and not seen[v] then
            seen[v] = true
            local mt = getmetatable(v)
            if type(mt) == "table" then
                found[#found + 1] = "metatable of " .. path
            end
            if tv == "table" then
                for k, x in next, v do
                    if private[k] then found[#found + 1] = path .. "." .. k end
                    if k == "format" and x == ("").format and v ~= string then
                        found[#found + 1] = "the runtime's string at " .. path
                    end
                    queue[#queue + 1] = {path .. "." .. tostring(k), x}
                    queue[#queue + 1] = {path .. "[key]", k}
                end
            end
        end
    end
    return #queue
end

-- Calls f; "error" when it raised an error whose text has `want`.
local function raises(f, want)
    local ok, e = pcall(f)
    if ok then return "returned" end
    return tostring(e):find(want, 1, true) and "error" or tostring(e)
end

local function recursions()
    local r = {}
    local function g(s) return (string.gsub(s, "a", g)) end
    r.gsub = raises(function() return g("aaaa") end, "stack overflow")
    local function cmp(a, b) table.sort({3, 2, 1}, cmp) return a < b end
    r.sort = raises(function() table.sort({3, 2, 1}, cmp) end,
                    "stack overflow")
    local t = setmetatable({}, {})
    getmetatable(t).__index = function(s, k) return t[k] end
    getmetatable(t).__tostring = function(s) return tostring(s) end
    getmetatable(t).__concat = function(a, b) return a .. b end
    r.index = raises(function() return t.x end, "stack overflow")
    r.tostring = raises(function() return tostring(t) end, "stack overflow")
    r.concat = raises(function() return t .. "x" end, "stack overflow")
    local function wrap(n)
        return n == 0 and 0 or coroutine.wrap(function() return wrap(n - 1) end)()
    end
    r.wrap = raises(function() return wrap(100000) end, "stack overflow")
    local function loop() assert(pcall(loop)) end
    r.xpcall = raises(function() assert(xpcall(loop, loop)) end,
                      "error in error handling")
    r.unpack = raises(function() return table.unpack({}, 1, 1e8) end,
                      "too many results")
    return r
end

return {
    buildRootObject = function(vatPowers, parameters, baggage)
        local root
        root = Far("Escaper", {
            bootstrap = function(self, vats)
                echo = vats.echo
                return "ready"
            end,
            hello = function(self) return "still here" end,
            -- Everything the vat is given, walked.
            reach = function(self)
                local found = {}
                local exported = Promise.kit()
                E(echo):echo({exported.promise}):await()
                local sent = E(echo):echo(1)
                local n = walk({env = _ENV, powers = vatPowers,
                                params = parameters, baggage = baggage,
                                echo = echo, proxy = E(echo),
                                only = E.sendOnly(echo), sent = sent,
                                exported = exported, root = root,
                                local_ = E(root):hello(),
                                all = Promise.all({sent}),
                                co = coroutine.running(),
                                get = baggage.get}, found)
                sent:await()
                n = n + walk({sent = sent, exported = exported}, found)
                return {found = table.concat(found, ","), walked = n > 100}
            end,
            -- C stack exhaustion from vat code: an error, never a crash.
            recursions = function(self)
                return recursions()
            end,
            -- A coroutine's __close run by coroutine.close: on the
            -- coroutine's own thread, which the kill must follow.
            closeLoop = function(self, n)
                local co = coroutine.create(function()
                    local guard <close> = setmetatable({}, {__close =
                        function() for i = 1, n do end end})
                    coroutine.yield()
                end)
                coroutine.resume(co)
                coroutine.close(co)
                return "closed"
            end,
            -- An unhandled rejection whose reason has an __index: the log
            -- line reads it raw, so the vat's code does not run there.
            unhandledIndex = function(self)
                Promise.reject(setmetatable({}, {__index = function()
                    ranIndex = true
                    error("__index ran in the runtime")
                end}))
                return "ok"
            end,
            ranIndex = function(self) return ranIndex end,
            -- A promise's callback fields hold the runtime's resume of an
            -- awaiting delivery thread, and that thread: called by the
            -- vat, they must not resume it early, nor pool it twice.
            wait = function(self) return kit.promise:await() end,
            poke = function(self)
                local resume, thread = rawget(kit.promise, 3),
                                       rawget(kit.promise, 4)
                resume("fulfilled", "forged", thread)
                return type(resume) .. " " .. type(thread)
            end,
            twice = function(self, x)
                return Promise.resolve(x):next(function(v)
                    return v .. v
                end):await()
            end,
            forgeAwait = function(self)
                kit = Promise.kit()
                local waited = E(root):wait()
                local poked = E(root):poke():await()
                kit.resolve("real")
                local w = waited:await()
                local a, b = E(root):twice("A"), E(root):twice("B")
                return {poked = poked, waited = w, a = a:await(),
                        b = b:await()}
            end,
            -- A promise's vref field set to an export number the kernel
            -- retired: the kernel refuses it (the vat is terminated).
            reuseVref = function(self)
                local k1 = Promise.kit()
                E(echo):echo({k1.promise}):await()
                local vref = rawget(k1.promise, 5)
                k1.resolve(1)
                E(echo):echo(1):await()
                local k2 = Promise.kit()
                rawset(k2.promise, 5, vref)
                return E(echo):echo({k2.promise}):await()
            end,
        })
        return root
    end,
}
