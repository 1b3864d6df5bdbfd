#!/bin/sh
# Runs every benchmark and prints its figures (not a test: no thresholds).
build=$1
for mode in nosync sync; do
    "$build/bench/ping" "${PING_N:-100000}" "$mode" || exit 1
done
