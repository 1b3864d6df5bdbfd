# Helpers the bench report scripts share (report.awk, compare.awk): they
# read the flat one-line JSON objects the bench programs print.  POSIX awk;
# load it first: awk -f bench/jsonline.awk -f bench/report.awk ...

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
