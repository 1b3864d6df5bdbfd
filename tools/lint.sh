#!/bin/sh
# make lint: the size limits of style.md (a .c file under 600 lines, a
# header under 250, a function body under 60 lines) and every header
# compiling on its own.
status=0
for f in host/*.c host/cli/*.c bindings/*.c; do
    n=$(wc -l < "$f")
    if [ "$n" -gt 600 ]; then
        echo "$f: $n lines (limit 600)"
        status=1
    fi
    # Function bodies: from a line that is exactly "{" to the next "}".
    awk -v f="$f" '
        /^\{$/ { start = NR; name = prev }
        /^\}$/ && start { if (NR - start - 1 > 60) {
            printf "%s:%d: %s has %d lines (limit 60)\n", f, start, name, NR - start - 1
            bad = 1 }
            start = 0 }
        { prev = $0 }
        END { exit bad }' "$f" || status=1
done
for h in host/*.h host/cli/*.h bindings/*.h; do
    n=$(wc -l < "$h")
    if [ "$n" -gt 250 ]; then
        echo "$h: $n lines (limit 250)"
        status=1
    fi
    printf '#include "%s"\n' "$(basename "$h")" |
        ${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
            -Wall -Wextra -Werror -Ihost -Ibindings -Ihost/cli \
            $(pkg-config --cflags lua5.4 libuv) -fsyntax-only -x c - ||
        { echo "$h does not compile on its own"; status=1; }
done
[ "$status" -eq 0 ] && echo "lint: ok"
exit $status
