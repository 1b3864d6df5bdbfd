#!/bin/sh
# make bench: runs every benchmark program, prints one table (workload,
# figure, unit, settings) and writes the same rows as a JSON array to
# BUILD/bench.json.  Figures, not tests: there are no thresholds.  Each
# figure is the median of BENCH_REPS runs, each in a fresh process.
#
# Environment (defaults in brackets):
#   BENCH_REPS [5]            runs per figure
#   BENCH_N [100000]          messages in the round-trip, pipelined and
#                             one-way workloads (nosync and sync)
#   BENCH_LAUNCH_N [10000]    vats launched; BENCH_LAUNCH_BATCH [100]
#                             launches queued per lvat_kernel_run
#   BENCH_RESTART_VATS [1000], BENCH_RESTART_ENTRIES [1000000]
#   BENCH_BAGGAGE_N [100000]  baggage writes, then reads, in one vat
#   BENCH_CALIB_N [500000]    loops of the machine-speed row (bench/calib.c),
#                             run first and last, to compare runs
#   BENCH_JSON [BUILD/bench.json]
#   TMPDIR [/tmp]             where the stores are made (and removed)
#
# usage: sh bench/run.sh BUILD
build=${1:-build}
here=$(dirname "$0")
json=${BENCH_JSON:-$build/bench.json}
lines=$(mktemp "${TMPDIR:-/tmp}/luavat-bench-lines.XXXXXX") || exit 1
trap 'rm -f "$lines"' EXIT
trap 'exit 130' INT TERM
status=0
start=$(date +%s)

step() {
    echo "bench: $* ($(($(date +%s) - start)) s)" >&2
    "$build/bench/$@" >>"$lines" || {
        echo "bench: $* failed" >&2
        status=1
    }
}

step calib
step ping -d nosync
step ping -d sync
step launch
step launch -s 64
step restart
step baggage
step calib
echo "bench: done in $(($(date +%s) - start)) s; rows also in $json" >&2
awk -v mode=table -f "$here/jsonline.awk" -f "$here/report.awk" "$lines"
awk -v mode=json -f "$here/jsonline.awk" -f "$here/report.awk" "$lines" >"$json" || status=1
exit $status
