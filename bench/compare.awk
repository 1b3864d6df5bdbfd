# luavat against its peers (make bench-peers): reads luavat's result lines
# and bench/peers/run.sh's lines (which carry "system") and prints, per
# workload and peer, both figures and luavat / peer.  Workloads match by
# name: "sequential round trips" = "sequential", "pipelined sends" =
# "pipelined", "vat launch" (vats/s) = "launch"; luavat's "vat launch,
# spare states" is set against the peers' launch too.  POSIX awk.
#
#   awk -f bench/jsonline.awk -f bench/compare.awk LUAVAT_LINES PEER_LINES

BEGIN {
    name["sequential round trips"] = "sequential"
    name["pipelined sends"] = "pipelined"
    name["vat launch"] = "launch"
    name["vat launch, spare states"] = "launch+spares"
    order[1] = "sequential"; order[2] = "pipelined"; order[3] = "launch"
    order[4] = "launch+spares"
    # The peer workload a luavat workload is set against.
    peer["sequential"] = "sequential"; peer["pipelined"] = "pipelined"
    peer["launch"] = "launch"; peer["launch+spares"] = "launch"
}

/^[ \t]*\{/ && /"workload"/ {
    sys = jstr($0, "system")
    w = jstr($0, "workload")
    if (sys == "" || sys == "luavat") {
        if (!(w in name))
            next
        w = name[w]
        lfig[w] = jnum($0, "figure")
        lunit[w] = jstr($0, "unit")
        next
    }
    if (!(sys in seen)) {
        seen[sys] = 1
        peers[++npeers] = sys
    }
    # Launch compares launch rates only (a peer may report more).
    if (w == "launch" && jstr($0, "unit") != "vats/s")
        next
    pfig[sys, w] = jnum($0, "figure")
    punit[sys, w] = jstr($0, "unit")
}

function row(a, b, c, d, e, f) {
    printf "| %s | %s | %12s | %12s | %s | %s |\n", pad(a, 13), pad(b, 12),
        c, d, pad(e, 14), pad(f, 13)
}

END {
    row("workload", "peer", "luavat", "peer figure", "unit", "luavat / peer")
    printf "| ------------- | ------------ | -----------: | -----------: | "
    printf "-------------- | ------------- |\n"
    for (k = 1; k <= 4; k++) {
        w = order[k]
        pw = peer[w]
        for (p = 1; p <= npeers; p++) {
            s = peers[p]
            l = (w in lfig) ? lfig[w] : ""
            f = ((s, pw) in pfig) ? pfig[s, pw] : ""
            u = (w in lunit) ? lunit[w] : punit[s, pw]
            if (l == "" || f == "")
                ratio = "no figure"
            else if (f + 0 <= 0)
                ratio = "peer figure is 0"
            else
                ratio = sprintf("%.2f", l / f)
            # Matched by workload name; say so when the units read apart.
            if (f != "" && (w in lunit) && punit[s, pw] != lunit[w])
                ratio = ratio " (peer unit: " punit[s, pw] ")"
            row(w, s, l == "" ? "-" : l, f == "" ? "-" : f, u, ratio)
        }
    }
    if (npeers == 0)
        print "(no peer figures)"
    print ""
    print "Each figure is a rate at its own system's settings (see the rows" \
        " above); BENCH_N and the peers' own variables set the sizes."
}
