#!/bin/sh
# Runs every test binary given on the command line, merges each one's
# stdout and stderr into BUILD/test-logs/NAME.log, and ends with one line
# "N passed, N failed" (cmocka counts, plus 1 failure for a binary that
# died before reporting).  With LUAVAT_VALGRIND=1 each binary runs under
# valgrind with tests/valgrind.supp.  The kernel's unit tests
# (test_kernel_*) run a second time committing a block after every crank
# (KF_BLOCK_CRANKS=1): the same tests must pass whatever the block size.
build=$1
shift
logs=$build/test-logs
mkdir -p "$logs"
export LUAVAT_BIN="$(cd "$build" && pwd)/luavat"
export LUAVAT_BUILD="$(cd "$build" && pwd)"
export LUAVAT_SRC="$(pwd)"
passed=0
failed=0

# run_one BINARY NAME: runs it (in the current environment) and counts.
run_one() {
    t=$1
    name=$2
    log=$logs/$name.log
    if [ -n "$LUAVAT_VALGRIND" ]; then
        LUAVAT_UNDER_VALGRIND=1 valgrind -q --fair-sched=yes --leak-check=full --errors-for-leak-kinds=definite \
            --error-exitcode=99 --suppressions=tests/valgrind.supp \
            --trace-children=no "$t" >"$log" 2>&1
    else
        "$t" >"$log" 2>&1
    fi
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "$name: exited with status $rc (see $log)"
        tail -n 20 "$log" | sed 's/^/    /'
    fi
    if [ "$f" -gt 0 ]; then
        echo "$name: $p passed, $f failed (see $log)"
        grep -E '^\[  FAILED  \] |^\[  ERROR   \] |error:|Failure!' "$log" | head -n 20 | sed 's/^/    /'
    else
        echo "$name: $p passed"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
}

for t in "$@"; do
    name=$(basename "$t")
    run_one "$t" "$name"
    case $name in
    test_kernel_*)
        KF_BLOCK_CRANKS=1
        export KF_BLOCK_CRANKS
        run_one "$t" "$name.blocks1"
        unset KF_BLOCK_CRANKS
        ;;
    esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
