-- Bootstrap vat of the promise tests: each method plays one scenario
-- against the helper vat (phelper.lua) and returns what it saw.
local helper, kept, saved

-- table.pack's result as text ("true,3,two"), nils included.
local function show(t)
    local parts = {}
    for i = 1, t.n do parts[i] = tostring(t[i]) end
    return table.concat(parts, ",")
end

local function try(p)
    local ok, err = pcall(function() return p:await() end)
    return ok and "ok" or tostring(err)
end

return {
    buildRootObject = function(vatPowers, parameters, baggage)
        return Far("Driver", {
            bootstrap = function(self, vats)
                helper = vats.phelper
                return "ready"
            end,
            boom = function(self) error("boom") end,
            promiseArg = function(self)
                local kit = Promise.kit()
                local r = E(helper):awaitArg(kit.promise)
                E(helper):ping():await()   -- the helper now waits on it
                kit.resolve(42)
                return r:await()
            end,
            promiseResult = function(self)
                local p = E(helper):later("r")
                E(helper):fire("r", 7):await()
                return p:await()
            end,
            chains = function(self)
                local a = E(helper):add(1, 2)
                    :next(function(v) return v * 10 end)
                    :next(function(v) return v + 1 end):await()
                local outer, inner = Promise.kit(), Promise.kit()
                outer.resolve(inner.promise)
                inner.resolve(E(helper):later("c"))
                E(helper):fire("c", "deep"):await()
                local hop = E(helper):twoHop("h")
                E(helper):fire("h", "two hops"):await()
                return {a = a, b = outer.promise:await(), c = hop:await()}
            end,
            -- Our kit resolved to the helper's promise and the helper's to
            -- ours: the kernel sees the cycle.
            cycle = function(self)
                local kitA = Promise.kit()
                local theirs = E(helper):makeKit(kitA.promise):await()
                local closed = E(helper):closeCycle()
                kitA.resolve(theirs.p)
                local b = closed:await()
                return {a = try(kitA.promise), b = b.err}
            end,
            -- The same inside one vat: no kernel involved, same verdict.
            localCycle = function(self)
                local k1, k2 = Promise.kit(), Promise.kit()
                k1.resolve(k2.promise)
                k2.resolve(k1.promise)
                return {try(k1.promise), try(E(k2.promise):foo())}
            end,
            pipeline = function(self)
                local rec = E(helper):slowRecorder()
                local rs = {}
                for i = 1, 5 do rs[i] = E(rec):rec(i) end
                E(helper):release()
                local got = Promise.all(rs):await()
                return {got = table.concat(got, ","),
                        order = table.concat(E(rec):order():await(), ",")}
            end,
            -- One-way sends: pipelined to a promise, to a presence, to a
            -- local object; an error in one goes nowhere.
            oneWay = function(self)
                local rec = E(helper):slowRecorder()
                for i = 1, 3 do E.sendOnly(rec):rec(i) end
                E.sendOnly(helper):fail("nobody hears this")
                local hits = 0
                local mine = Far("Mine", { hit = function() hits = hits + 1 end })
                E.sendOnly(mine):hit()
                local r1 = E.sendOnly(mine):hit()
                E(helper):release()
                local order = table.concat(E(rec):order():await(), ",")
                local bad = pcall(function() E.sendOnly(42):x() end)
                local dot = pcall(function() E.sendOnly(rec).rec(1) end)
                return {order = order, hits = hits, r1 = tostring(r1),
                        bad = bad, dot = dot}
            end,
            -- A vat that scribbles on its promises' internals (which it
            -- reaches with pairs) hurts nothing but itself: no crash, no
            -- hang, no undefined behaviour in the runtime's C.
            hostile = function(self)
                local out = {}
                -- callbacks called directly with junk
                local k = Promise.kit()
                k.promise:next(print)
                local agg = Promise.kit()
                Promise.all({agg.promise})
                local errs = {}
                for _, p in ipairs({k.promise, agg.promise}) do
                    for _, v in pairs(p) do
                        if type(v) == "function" then
                            errs[#errs + 1] = select(2, pcall(v, "fulfilled", 1, {42}))
                        end
                    end
                end
                out.errs = table.concat(errs, "; ")
                -- a loop of followed promises
                local a, b = Promise.kit(), Promise.kit()
                a.resolve(b.promise)
                local kf
                for key, v in pairs(a.promise) do
                    if v == b.promise then kf = key end
                end
                rawset(b.promise, kf, a.promise)
                E(a.promise):foo()
                E.sendOnly(a.promise):foo()
                local c = Promise.kit()
                c.resolve(a.promise)
                out.loop = "survived"
                -- a long chain of promises fulfilled with promises, and
                -- one fulfilled with itself
                local target = Far("End", {hit = function() return "end" end})
                local first = Promise.kit().promise
                local p = first
                for i = 1, 100000 do
                    local q = i == 100000 and target or Promise.kit().promise
                    rawset(p, 1, 1)  -- fulfilled ...
                    rawset(p, 2, q)  -- ... with the next
                    p = q
                end
                out.deep = E(first):hit():await()
                local self_ = Promise.kit().promise
                rawset(self_, 1, 1)
                rawset(self_, 2, self_)
                out.selfish = try(E(self_):hit())
                -- a callback count at the top of the integers (the count
                -- field is found as the one holding 1 after two
                -- callbacks: the state field holds 0 while pending)
                local big = Promise.kit()
                big.promise:next(function() end)
                big.promise:next(function() end)
                local kn
                for key, v in pairs(big.promise) do
                    if math.type(v) == "integer" and v == 1 then kn = key end
                end
                rawset(big.promise, kn, math.maxinteger)
                big.promise:next(function() end)
                big.resolve(1)
                out.big = "survived"
                -- the metatable stays hidden; non-function handlers pass
                out.index = Promise.resolve(1).__index == nil
                out.passOk = Promise.resolve(5):next(false):await()
                out.passErr = Promise.reject("x")
                    :next(false, function(e) return "h " .. e end):await()
                return out
            end,
            -- A job table a vat junked fails the delivery, not the process.
            junkJob = function(self)
                local k = Promise.kit()
                k.promise:next(print)
                for _, v in pairs(k.promise) do
                    if type(v) == "table" then v[1] = 42 end
                end
                k.resolve(1)
                return "queued"
            end,
            -- An exit whose info cannot be marshalled gives back the
            -- export number its Far object took: sending that object after
            -- a later export must not name a number the kernel saw passed.
            badExit = function(self)
                local lost = Far("Lost", {})
                local ok, err = pcall(vatPowers.exit, false,
                                      {a = lost, z = print})
                E(helper):take(Far("Next", {})):await()
                local sent = E(helper):take(lost):await()
                return {ok = ok, err = err, sent = sent}
            end,
            -- A notify whose first value names the promise it settles next.
            notifyBatch = function(self)
                local pair = E(helper):pairKits():await()
                E(helper):settlePair():await()
                local v = pair.a:await()
                return {same = v.b == pair.b, b = v.b:await(), n = v.n}
            end,
            -- Far and E's routes and refusals (lfar.c): to local promises
            -- fulfilled later, already, or rejected; one-way sends to a
            -- local promise; calls without the colon; bad targets.
            farApi = function(self)
                local seen = {}
                local mine = Far("Mine", {
                    echo = function(_, x) return x end,
                    note = function(_, x) seen[#seen + 1] = x end,
                })
                local later = Promise.kit()
                local viaLater = E(later.promise):echo("later")
                E.sendOnly(later.promise):note("only later")
                later.resolve(mine)
                local done = Promise.resolve(mine)
                local rejected = Promise.reject("gone")
                local empty = Far("Empty")
                local function msg(f)
                    local ok, e = pcall(f)
                    return ok and "no error" or e
                end
                return {
                    later = viaLater:await(),
                    done = E(done):echo("done"):await(),
                    rejected = try(E(rejected):echo("x")),
                    remote = try(E(E(helper):getThing()):ping()),
                    notTarget = try(E(42):echo()),
                    classy = E(E(helper):classy()):greet("you"):await(),
                    raisy = try(E(E(helper):raisy()):anything()),
                    noMethod = try(E(empty):echo()),
                    dot = msg(function() return E(mine).echo(1) end),
                    onlyDot = msg(function() E.sendOnly(mine).note(1) end),
                    onlyBad = msg(function() E.sendOnly(true):x() end),
                    farIface = msg(function() return Far(1, {}) end),
                    farMethods = msg(function() return Far("X", 5) end),
                    farPromise = msg(function() return Far("X", later.promise) end),
                    seen = (E(mine):echo():await() == nil) and table.concat(seen, ","),
                }
            end,
            -- Resolve an exported kit to the helper's promise: afterwards
            -- this vat decides nothing (the kernel forwards).
            forwardSetup = function(self)
                local kit = Promise.kit()
                kept = E(helper):awaitArg(kit.promise)
                E(helper):ping():await()
                kit.resolve(E(helper):later("f"))
                return true
            end,
            forwardFinish = function(self)
                E(helper):fire("f", "forwarded"):await()
                return kept:await()
            end,
            toRejected = function(self)
                local p = E(helper):fail("no such luck")
                local q = E(p):anything()          -- parked in the kernel
                local e1, e2 = try(p), try(q)
                local e3 = try(E(p):later())         -- p is settled here
                return {p = e1, q = e2, same = e1 == e2 and e2 == e3}
            end,
            toData = function(self)
                local p = E(helper):add(1, 2)
                return try(E(p):foo())
            end,
            importIdentity = function(self)
                local a = E(helper):getThing():await()
                local b = E(helper):getThing():await()
                return {eq = a == b, raw = rawequal(a, b), text = tostring(a)}
            end,
            exportIdentity = function(self)
                saved = Far("Mine", {})
                E(helper):take(saved):await()
                return E(helper):take(saved):await()
            end,
            combinators = function(self)
                local all = Promise.all({E(helper):add(1, 1), 5,
                                         Promise.resolve(7)}):await()
                local bad = try(Promise.all({E(helper):add(1, 1),
                                             Promise.reject("nope")}))
                local kit = Promise.kit()
                kit.reject("kit says no")
                local same = Promise.resolve(kit.promise) == kit.promise
                return {all = table.concat(all, ","), bad = bad,
                        kit = try(kit.promise), same = same,
                        res = Promise.resolve(3):await(),
                        rej = try(Promise.reject("r"))}
            end,
            -- allSettled, any and race, over remote and local promises
            -- and plain values, and on empty lists.
            moreCombinators = function(self)
                local settled = Promise.allSettled({E(helper):add(1, 1),
                    E(helper):fail("no"), 4}):await()
                local s = {}
                for i, r in ipairs(settled) do
                    s[i] = r.status .. ":" .. tostring(r.value or r.reason)
                end
                local kit = Promise.kit()
                local anyOk = Promise.any({E(helper):fail("a"),
                                           E(helper):add(2, 3)}):await()
                local anyBad = select(2, pcall(function()
                    return Promise.any({E(helper):fail("x"),
                                        Promise.reject("y")}):await()
                end))
                local race = Promise.race({kit.promise, E(helper):add(1, 2)})
                    :await()
                local raceBad = select(2, pcall(function()
                    return Promise.race({Promise.reject("first"),
                                         E(helper):add(1, 1)}):await()
                end))
                local emptyAny = select(2, pcall(function()
                    return Promise.any({}):await()
                end))
                return {settled = table.concat(s, ","), anyOk = anyOk,
                        anyBad = anyBad.message .. " " .. anyBad.errors[1]
                                 .. anyBad.errors[2],
                        race = race, raceBad = raceBad,
                        emptySettled = #Promise.allSettled({}):await(),
                        emptyAny = #emptyAny.errors,
                        emptyRace = tostring(Promise.race({})),
                        badRace = select(2, pcall(Promise.race, 5))}
            end,
            -- Await inside the vat's own coroutine.wrap.
            coWrap = function(self)
                local gen = coroutine.wrap(function(a)
                    local x = E(helper):add(a, 1):await()
                    local b = coroutine.yield(x)
                    return b + E(helper):add(0, 100):await()
                end)
                local first = gen(1)
                return {first, gen(5)}
            end,
            -- The rest of the vat's coroutine library (lvatenv.c): resume
            -- across awaits, errors as raised, several values each way,
            -- nesting, status and close.
            coLib = function(self)
                local co = coroutine.create(function(a, b)
                    local s = E(helper):add(a, b):await()
                    local c, d = coroutine.yield(s, "two", coroutine.isyieldable())
                    return c .. d, coroutine.status(coroutine.running())
                end)
                local r1 = table.pack(coroutine.resume(co, 1, 2))
                local st1 = coroutine.status(co)
                local r2 = table.pack(coroutine.resume(co, "x", "y"))
                local dead = table.pack(coroutine.resume(co))
                local outer = coroutine.wrap(function()
                    local inner = coroutine.wrap(function(n)
                        return E(helper):add(n, 10):await()
                    end)
                    return inner(5) + E(helper):add(0, 1):await()
                end)
                local errTable = {code = 7}
                local raised = coroutine.wrap(function()
                    E(helper):add(0, 0):await()
                    error(errTable)
                end)
                local ok, got = pcall(raised)
                local parked = coroutine.create(function() coroutine.yield() end)
                coroutine.resume(parked)
                local closed = coroutine.close(parked)
                local badCreate = select(2, pcall(function()
                    return coroutine.create(42)
                end))
                local badResume = select(2, pcall(function()
                    return coroutine.resume(42)
                end))
                vatPowers.log("coLib", 1, nil, true,
                              setmetatable({}, {__tostring = function()
                                  return "shown" end}))
                return {r1 = show(r1), st1 = st1, r2 = show(r2), dead = show(dead),
                        nested = outer(), sameError = not ok and got == errTable,
                        closed = closed, parked = coroutine.status(parked),
                        badCreate = badCreate, badResume = badResume}
            end,
            -- The methods and Promise table vats use (lpromise_api.c), and
            -- promise tables a vat scribbled on (no crash, no effect
            -- beyond its own promises).
            promiseApi = function(self)
                local chain = Promise.resolve(1)
                    :next(function(v) return v + 1 end)
                    :next(function(v) error("x" .. v, 0) end)
                    :catch(function(e) return "caught " .. e end):await()
                local ran = 0
                local fin = Promise.resolve("kept")
                    :finally(function() ran = ran + 1 end):await()
                local finErr = try(Promise.reject("lost")
                    :finally(function() ran = ran + 1 end))
                local kit = Promise.kit()
                local follower = Promise.kit()
                follower.resolve(kit.promise)
                local pendingText = tostring(follower.promise)
                kit.resolve(E(helper):add(20, 1))
                local followed = follower.promise:await()
                local forged = setmetatable({_state = "fulfilled", _value = 1},
                                            {__metatable = "Promise"})
                local scribbled = Promise.kit()
                scribbled.promise._follows = 5
                scribbled.promise._n = "x"
                local first = scribbled.promise:next(function(v) return v end)
                local second = scribbled.promise:next(function(v)
                    return v * 2
                end)
                scribbled.resolve(9)
                -- Fields by name are the vat's own; the internal ones
                -- (found with pairs) take junk without harm.
                local broken = Promise.kit().promise
                broken._state = 42
                local named = tostring(broken)
                local keys = {}
                for k in pairs(broken) do keys[#keys + 1] = k end
                for _, k in ipairs(keys) do broken[k] = "junk" end
                local junked = Promise.kit().promise
                junked:next(function() end)
                junked:next(function() end)
                local jkeys = {}
                for k in pairs(junked) do jkeys[#jkeys + 1] = k end
                for _, k in ipairs(jkeys) do junked[k] = 5 end
                Promise.resolve(junked)
                E(helper):add(1, 1):await()
                local all = Promise.all({n = 3, E(helper):add(1, 1), nil, "c"})
                    :await()
                return {
                    chain = chain, fin = fin, finErr = finErr, ran = ran,
                    pendingText = pendingText, followed = followed,
                    texts = tostring(Promise.resolve(3)) .. " "
                            .. tostring(Promise.reject("no")),
                    isP = Promise.isPromise(kit.promise),
                    notP = Promise.isPromise({}), forged = Promise.isPromise(forged),
                    scribbled = first:await() + second:await(),
                    named = named,
                    brokenText = tostring(broken),
                    junked = tostring(junked),
                    brokenP = Promise.isPromise(broken),
                    badSelf = select(2, pcall(function()
                        return Promise.resolve(1).await(5)
                    end)),
                    badAll = select(2, pcall(Promise.all, {n = "x"})),
                    nilAll = select(2, pcall(function()
                        local p = Promise.all(nil)
                        return p
                    end)),
                    all = tostring(all[1]) .. "," .. tostring(all[2]) .. ","
                          .. tostring(all[3]),
                }
            end,
            -- Awaits under pcall and xpcall, which may yield in Lua 5.4.
            awaitInPcall = function(self)
                local _, a = pcall(function()
                    return E(helper):add(1, 1):await()
                end)
                local _, b = xpcall(function()
                    return E(helper):add(2, 2):await()
                end, function(e) return "handled " .. e end)
                local _, c = xpcall(function()
                    return E(helper):fail("late"):await()
                end, function(e) return "handled " .. e end)
                return {a, b, c}
            end,
            -- Promise.all's value is a plain list, so it can be returned.
            allReturned = function(self)
                return Promise.all({E(helper):add(1, 1), "two"})
            end,
            -- Eventual sends to this vat's own objects.
            localSends = function(self)
                local obj = Far("Local", {
                    twice = function(_, x) return 2 * x end,
                    fail = function() error("local failure", 0) end,
                })
                return {ok = E(obj):twice(21):await(),
                        fail = try(E(obj):fail()),
                        none = try(E(obj):missing())}
            end,
            awaitInSort = function(self)
                local t = {3, 1, 2}
                local ok, err = pcall(table.sort, t, function(x, y)
                    E(helper):ping():await()
                    return x < y
                end)
                return tostring(err)
            end,
            awaitInRequire = function(self)
                local ok, err = pcall(require, "pawaitmod")
                return tostring(err)
            end,
            -- A send whose arguments fail to marshal after exporting a
            -- promise and an object must not burn their export numbers.
            badMarshal = function(self)
                local kit, obj = Promise.kit(), Far("Spare", {})
                local ok, err = pcall(function()
                    return E(helper):awaitArg(kit.promise, obj, print)
                end)
                E(helper):ping():await()   -- names a later p+N
                local r = E(helper):awaitArg(kit.promise)
                kit.resolve("late")
                return {err = err, got = r:await(),
                        same = E(helper):take(obj):await()}
            end,
            -- E-order: a message sent to a promise never overtakes one
            -- sent to it earlier, whatever the promise comes to follow.
            -- A send to a local object through a promise runs in the turn
            -- after the promise settles, not one more turn later (it came
            -- after later sends: "b,c,a").
            -- A promise this vat exported and decides must not route
            -- through the kernel while a later send goes straight to its
            -- value; a local promise later resolved to a pending remote
            -- one must not let later sends pipeline past earlier ones.
            eOrder = function(self)
                local seen = {}
                local mine = Far("Mine", {
                    m = function(_, x) seen[#seen + 1] = x end})
                local k0 = Promise.kit()
                local s1 = E(k0.promise):m("a")
                k0.resolve(mine)
                local s2 = E(k0.promise):m("b")
                local s3 = E(mine):m("c")
                Promise.all({s1, s2, s3}):await()
                local k = Promise.kit()
                E(helper):take(k.promise) -- exported: p+N
                local a = E(k.promise):m(1)
                k.resolve(mine)
                local b = E(k.promise):m(2)
                Promise.all({a, b}):await()
                local k2 = Promise.kit()
                local r1 = E(k2.promise):rec(1)
                k2.resolve(E(helper):slowRecorder())
                local r2 = E(k2.promise):rec(2)
                local k3 = Promise.kit()
                E(helper):take(k3.promise)
                local r3 = E(k3.promise):rec(3)
                k3.resolve(k2.promise)
                local r4 = E(k3.promise):rec(4)
                E(helper):release()
                Promise.all({r1, r2, r3, r4}):await()
                return {exported = table.concat(seen, ","),
                        remote = table.concat(E(k2.promise):order():await(),
                                              ",")}
            end,
            -- finally waits for a promise its function returns, whose
            -- rejection wins (as in JavaScript); it used to be ignored.
            finallyWaits = function(self)
                local order = {}
                local gate = Promise.kit()
                local waited = Promise.resolve("kept"):finally(function()
                    return gate.promise:next(function()
                        order[#order + 1] = "gate"
                    end)
                end):next(function(v) order[#order + 1] = v end)
                Promise.resolve():next(function() gate.resolve() end)
                waited:await()
                return {
                    order = table.concat(order, ","),
                    rej = try(Promise.resolve(1):finally(function()
                        return Promise.reject("finally says no")
                    end)),
                    keptErr = try(Promise.reject("first"):finally(function()
                        return E(helper):add(1, 1)
                    end)),
                    remote = Promise.resolve(7):finally(function()
                        return E(helper):add(1, 1)
                    end):await(),
                }
            end,
            -- An await in a promise handler says where one can wait.
            awaitInHandler = function(self)
                return try(Promise.resolve(1):next(function()
                    return E(helper):ping():await()
                end))
            end,
            -- Rejections nothing takes are logged when the microtasks run
            -- out; those a handler, an await or a send takes are not.
            unhandled = function(self)
                Promise.reject("nobody took this")
                Promise.resolve(1):next(function()
                    error({message = "a handler threw this"})
                end)
                Promise.reject("caught"):catch(function() end)
                try(Promise.reject("awaited"))
                E(Promise.reject("sent to"))
                    :anything():catch(function() end)
                local late = Promise.reject("taken later")
                Promise.resolve():next(function()
                    late:catch(function() end)
                end)
                E(helper):noSuchMethod() -- its result rejected, at the notify
                return "done"
            end,
            holes = function(self)
                -- and more arguments than a C function's stack starts with
                local nums = {}
                for i = 1, 300 do nums[i] = i end
                local many = E(helper):count(table.unpack(nums, 1, 300)):await()
                return {E(helper):count(1, nil, 3):await(),
                        E(helper):count(1, nil):await(),
                        E(helper):count(nil):await(),
                        many:match("^%d+:") .. many:match("%d+$")}
            end,
        })
    end,
}
