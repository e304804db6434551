#!/bin/bash
# CI's short run of the black-box harness (scripts/test.sh, bench smoke): every case for
# one second after a one-second warm-up. Checks that the harness still drives the switch
# (ring ports, the daemon's builder, the datapath thread) and that every packet was
# forwarded from the flow cache (the harness exits 1 otherwise). Prints no figures to
# compare: one second on a CI machine measures nothing (docs/benchmarks.md).
# usage: bench/blackbox/smoke.sh BUILD_DIR
set -u
BIN=${1:?usage: smoke.sh BUILD_DIR}/bench/blackbox/ivs_blackbox
[ -x "$BIN" ] || { echo "blackbox smoke: $BIN not built"; exit 1; }
fail=0
for c in l2 l2-flows routed policy; do
    if out=$("$BIN" --case "$c" --seconds 1 --warmup 1 2>&1) && grep -q "^blackbox case=$c " <<<"$out"; then
        echo "ok   $c"
    else
        echo "FAIL $c"; grep -v '^\[' <<<"$out" | tail -5; fail=1
    fi
done
exit $fail
