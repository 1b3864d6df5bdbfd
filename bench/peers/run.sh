#!/bin/sh
# Peer benchmarks: workloads 1 (sequential), 2 (pipelined) and 4 (launch) on
# Agoric SwingSet and MetaMask ocap-kernel, installed from the npm registry
# into this directory.  One JSON object per figure on stdout; progress on
# stderr.  Not a test: no thresholds.
#
# usage: bench/peers/run.sh [N]
#   N                sequential and pipelined message count (default 2000)
#   PEER_SEQ_N, PEER_PIPE_N   override each count separately
#   PEER_LAUNCH_M    vats launched in the launch workload (default 50)
#   PEER_REPS        repetitions of sequential/pipelined, median kept (3)
#   PEER_SYSTEMS     which peers to run (default "swingset ocap-kernel")
#   PEER_LOCKDOWN=safe  real harden() in both peers (default "fast": harden
#                    freezes nothing, as in Agoric's node host; see README.md)
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here" || exit 1

die() {
    echo "bench/peers: $*" >&2
    exit 1
}

if [ $# -gt 0 ]; then
    case $1 in
    '' | *[!0-9]* | 0) die "usage: run.sh [N], N a positive integer" ;;
    esac
    export PEER_N="$1"
fi

command -v node >/dev/null 2>&1 || die "node is not installed (need Node 20.9+ or 22.11+)"
command -v npm >/dev/null 2>&1 || die "npm is not installed"
node -e 'const [a,b]=process.versions.node.split(".").map(Number);
         process.exit(a===20&&b>=9||a===22&&b>=11||a>22?0:1)' ||
    die "Node $(node --version) is not supported by @agoric/swingset-vat 0.33.0 (^20.9 || ^22.11)"

# Install once.  --ignore-scripts: @metamask/streams' postinstall downloads a
# browser, and @agoric/xsnap's builds the xsnap binary (not needed: SwingSet
# runs local workers here).  Then build the native
# modules from source against the system Node headers (node-gyp cannot
# download headers here; better-sqlite3's prebuild-install cannot download
# its binaries and falls back to node-gyp).
# The stamp is a copy of the lock file the install was made from.
stamp=node_modules/.luavat-installed
if ! cmp -s package-lock.json "$stamp" 2>/dev/null; then
    echo "bench/peers: installing peers from the npm registry (a few minutes, once)..." >&2
    export npm_config_nodedir=/usr JOBS=max
    npm ci --ignore-scripts --no-audit --no-fund >&2 ||
        die "npm ci failed: cannot install the peers (see above)"
    npm rebuild better-sqlite3 microtime >&2 ||
        die "building better-sqlite3/microtime failed (needs a C++ compiler, make, python3 and Node headers in /usr/include/node)"
    node -e 'require("better-sqlite3")(":memory:").close();
             require("./node_modules/@metamask/kernel-store/node_modules/better-sqlite3")(":memory:").close()' >&2 ||
        die "better-sqlite3 was built but does not load"
    cp package-lock.json "$stamp"
fi

to=""
command -v timeout >/dev/null 2>&1 && to="timeout 900"
rc=0
for sys in ${PEER_SYSTEMS:-swingset ocap-kernel}; do
    [ -f "$sys.mjs" ] || die "unknown peer system: $sys"
    echo "bench/peers: running $sys..." >&2
    if ! $to node --expose-gc "$sys.mjs"; then
        echo "bench/peers: $sys benchmark failed" >&2
        rc=1
    fi
done
exit $rc
