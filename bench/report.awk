# Turns benchmark result lines (one JSON object per line, as the bench
# programs and bench/peers/run.sh print them) into one table or a JSON
# array.  POSIX awk; reads only the flat objects those programs write.
#
#   awk -f bench/report.awk -v mode=table FILE...   a Markdown table
#   awk -f bench/report.awk -v mode=json FILE...    [obj, obj, ...]
#
# The table has a "system" column only when some line names a system
# (peer lines do; luavat's own lines are shown as "luavat").

# The string value of "key" in a one-line JSON object ("" if absent).
function jstr(s, key,    c, out) {
    if (!match(s, "\"" key "\"[ ]*:[ ]*\""))
        return ""
    s = substr(s, RSTART + RLENGTH)
    out = ""
    while (s != "") {
        c = substr(s, 1, 1)
        if (c == "\"")
            break
        if (c == "\\") {
            c = substr(s, 2, 1)
            s = substr(s, 2)
        }
        out = out c
        s = substr(s, 2)
    }
    return out
}

# The number value of "key" as written ("" if absent).
function jnum(s, key) {
    if (!match(s, "\"" key "\"[ ]*:[ ]*"))
        return ""
    s = substr(s, RSTART + RLENGTH)
    if (!match(s, /^-?[0-9][0-9.eE+-]*/))
        return ""
    return substr(s, 1, RLENGTH)
}

function pad(s, w) {
    while (length(s) < w)
        s = s " "
    return s
}

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
    cell[n, 4] = jstr($0, "unit")
    cell[n, 5] = jstr($0, "settings")
}

function table(    i, j, first, w, line, rule) {
    head[1] = "system"; head[2] = "workload"; head[3] = "figure"
    head[4] = "unit"; head[5] = "settings"
    first = has_sys ? 1 : 2
    for (j = first; j <= 5; j++) {
        w[j] = length(head[j])
        for (i = 1; i <= n; i++)
            if (length(cell[i, j]) > w[j])
                w[j] = length(cell[i, j])
    }
    line = "|"; rule = "|"
    for (j = first; j <= 5; j++) {
        line = line " " pad(head[j], w[j]) " |"
        rule = rule " " (j == 3 ? rep("-", w[j] - 1) ":" : rep("-", w[j])) " |"
    }
    print line
    print rule
    for (i = 1; i <= n; i++) {
        line = "|"
        for (j = first; j <= 5; j++)
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
