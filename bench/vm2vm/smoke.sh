#!/usr/bin/env bash
# CI smoke test of the side-by-side benchmark: one short run of the testpmd ceiling and
# ivswitch (L2 and routed) without hugepages. Checks that every system moved packets and
# that the figure lines were printed, and that the suite's report (bench/vm2vm/report.py)
# is made from the results; the figures themselves mean nothing here (2 s, CI).
# usage: smoke.sh BUILD_DIR
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
export IVSWITCH_BUILD=$(cd "${1:?usage: smoke.sh BUILD_DIR}" && pwd)
export BENCH_DIR=$(mktemp -d /tmp/ivs-bench-smoke.XXXXXX) MEM_MODE=nohuge RETRIES=0 QUIET_TIMEOUT=0 START_TIMEOUT=20
trap 'rm -rf "$BENCH_DIR"' EXIT
out=$("$HERE/run.sh" -r 1 -d 2 -w 1 -f 1 testpmd-io:io ivswitch:l2 ivswitch:routed 2>&1)
echo "$out" | grep -E 'Mpps|ivswitch/|cycles'
fail=0
for s in "testpmd-io io" "ivswitch l2" "ivswitch routed"; do
    echo "$out" | grep -qE "^$s 1flow: [0-9.]+ Mpps" || { echo "smoke: no figure for $s"; fail=1; continue; }
    echo "$out" | grep -E "^$s 1flow: [0-9.]+ Mpps" | awk '{exit !($(NF-1) > 0)}' || { echo "smoke: $s moved no packets"; fail=1; }
done
# The suite's report from this run's raw results (bench/suite.sh keeps them the same way).
mkdir -p "$BENCH_DIR/report/tp-1flow"
cp "$(ls -d "$BENCH_DIR"/results/*/ | tail -1)/raw.txt" "$BENCH_DIR/report/tp-1flow/"
python3 "$HERE/report.py" "$BENCH_DIR/report" >/dev/null
for s in "ivswitch l2-1flow" "ivswitch/testpmd l2-1flow" "ivswitch routed-1flow"; do
    grep -qE "^$s: [0-9.]+" "$BENCH_DIR/report/report.md" || { echo "smoke: the report has no line '$s'"; fail=1; }
done
[ $fail = 0 ] && echo "bench smoke: ok" || { echo "$out" | tail -30; echo "bench smoke: FAILED"; }
exit $fail
