#!/bin/sh
# make bench-peers: the machine-speed row (bench/calib.c), luavat's
# sequential round trips, pipelined sends (both nosync) and vat launch
# (without and with spare states), then the same workloads on the peer
# kernels (bench/peers/run.sh, owned separately), in one run; prints every
# figure and a table of luavat / peer per workload and peer.  All rows go to
# BUILD/bench-peers.json.  The BENCH_* settings of bench/run.sh apply to
# luavat's side; the peers read their own (see bench/peers/).
#
# usage: sh bench/run-peers.sh BUILD
build=${1:-build}
here=$(dirname "$0")
peers=$here/peers/run.sh
json=${BENCH_PEERS_JSON:-$build/bench-peers.json}
if [ ! -f "$peers" ]; then
    echo "bench-peers: $peers does not exist: the peer benchmarks" \
        "(Agoric SwingSet, MetaMask ocap-kernel) are not set up in this" \
        "tree, so there is nothing to compare against; nothing was run." >&2
    exit 1
fi
ours=$(mktemp "${TMPDIR:-/tmp}/luavat-bench-ours.XXXXXX") || exit 1
theirs=$(mktemp "${TMPDIR:-/tmp}/luavat-bench-peers.XXXXXX") || exit 1
trap 'rm -f "$ours" "$theirs"' EXIT
trap 'exit 130' INT TERM
status=0

for args in calib "ping -d nosync -w seq,pipe" "launch -d nosync" \
    "launch -d nosync -s 64"; do
    echo "bench-peers: luavat $args" >&2
    # $args is split on purpose: program name, then its options.
    "$build/bench/"$args >>"$ours" || {
        echo "bench-peers: luavat $args failed" >&2
        status=1
    }
done
echo "bench-peers: $peers" >&2
if [ -x "$peers" ]; then
    "$peers" >"$theirs"
else
    sh "$peers" >"$theirs"
fi || {
    echo "bench-peers: $peers failed; comparing the figures it printed" >&2
    status=1
}
awk -v mode=table -f "$here/jsonline.awk" -f "$here/report.awk" "$ours" "$theirs"
echo
awk -f "$here/jsonline.awk" -f "$here/compare.awk" "$ours" "$theirs"
awk -v mode=json -f "$here/jsonline.awk" -f "$here/report.awk" "$ours" "$theirs" >"$json" || status=1
exit $status
