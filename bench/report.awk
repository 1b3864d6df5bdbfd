# Turns benchmark result lines (one JSON object per line, as the bench
# programs and bench/peers/run.sh print them) into one table or a JSON
# array.  POSIX awk; reads only the flat objects those programs write.
#
#   awk -f bench/jsonline.awk -f bench/report.awk -v mode=table FILE...
#   awk -f bench/jsonline.awk -f bench/report.awk -v mode=json FILE...
# (a Markdown table, or [obj, obj, ...])
#
# The table has a "system" column only when some line names a system
# (peer lines do; luavat's own lines are shown as "luavat").

function rep(c, k,    s) {
    s = ""
    while (k-- > 0)
        s = s c
    return s
}

function lpad(s, w) {
    while (length(s) < w)
        s = " " s
    return s
}

/^[ \t]*\{/ && /"workload"/ {
    n++
    raw[n] = $0
    sub(/^[ \t]+/, "", raw[n])
    sub(/[ \t\r]+$/, "", raw[n])
    sys[n] = jstr($0, "system")
    if (sys[n] != "")
        has_sys = 1
    else
        sys[n] = "luavat"
    cell[n, 1] = sys[n]
    cell[n, 2] = jstr($0, "workload")
    cell[n, 3] = jnum($0, "figure")
    cell[n, 4] = jnum($0, "min") == "" ? "" : jnum($0, "min") "-" jnum($0, "max")
    cell[n, 5] = jstr($0, "unit")
    cell[n, 6] = jstr($0, "settings")
}

function table(    i, j, first, w, line, rule) {
    head[1] = "system"; head[2] = "workload"; head[3] = "figure"
    head[4] = "runs (min-max)"; head[5] = "unit"; head[6] = "settings"
    first = has_sys ? 1 : 2
    for (j = first; j <= 6; j++) {
        w[j] = length(head[j])
        for (i = 1; i <= n; i++)
            if (length(cell[i, j]) > w[j])
                w[j] = length(cell[i, j])
    }
    line = "|"; rule = "|"
    for (j = first; j <= 6; j++) {
        line = line " " pad(head[j], w[j]) " |"
        rule = rule " " (j == 3 ? rep("-", w[j] - 1) ":" : rep("-", w[j])) " |"
    }
    print line
    print rule
    for (i = 1; i <= n; i++) {
        line = "|"
        for (j = first; j <= 6; j++)
            line = line " " (j == 3 ? lpad(cell[i, j], w[j]) : pad(cell[i, j], w[j])) " |"
        print line
    }
}

END {
    if (mode == "json") {
        print "["
        for (i = 1; i <= n; i++)
            print "  " raw[i] (i < n ? "," : "")
        print "]"
    } else {
        table()
    }
}
