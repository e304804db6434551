#!/usr/bin/env bash
# The namespace suites' autovalidator verdict (autovalidator_verdict in scripts/lib/netns.sh)
# on recorded counter lines, as stop_switch/summary record them from real daemons
# ("CHECKED MISMATCH SAMPLED RING_FULL STALE CACHE_HITS LOG"): a suite whose daemons
# served packets from the flow cache while the autovalidator checked none fails (it
# passed before: 0 mismatches), as does a mismatch, a daemon whose counters or cache hits
# could not be read; a suite that checked its hits, or served none, passes.
# The same verdict on a real suite with the validator broken: docs/architecture.md.
# usage: autovalidator_verdict_test.sh   (no root, no daemon: a second at most)
set -u
WORK=$(mktemp -d /tmp/ivs-avverdict.XXXXXX); trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/../../scripts/lib/netns.sh"
. "$(dirname "$0")/../../scripts/lib/check.sh"
verdict_is() {  # WANT(pass|fail) STARTS LINE...
    local want=$1 got=pass; AUTOVALIDATED_STARTS=$2; shift 2
    printf '%s\n' "$@" >"$WORK/autovalidator"
    autovalidator_verdict || got=fail
    echo "verdict: $got (want $want)"; [ "$got" = "$want" ]
}
L=$WORK/ivswitchd.log; : >"$L"
check "hits checked, no mismatch: pass" verdict_is pass 2 "1200 0 1210 0 10 1210 $L" "0 0 0 0 0 0 $L"
check "no daemon served from the flow cache: pass" verdict_is pass 1 "0 0 0 0 0 0 $L"
check "hits served, none checked (validator silently broken): FAIL" verdict_is fail 1 "0 0 0 0 0 5000 $L"
check "hits served, none checked over two daemons: FAIL" verdict_is fail 2 "0 0 0 0 0 3000 $L" "0 0 0 0 0 0 $L"
check "one daemon checked plenty, another served hits and checked none: FAIL" verdict_is fail 2 "0 0 0 0 0 5000 $L" "1200 0 1210 0 10 1210 $L"
check "a daemon whose few hits all changed since served: pass" verdict_is pass 2 "0 0 3 0 3 3 $L" "1200 0 1210 0 10 1210 $L"
check "a mismatch: FAIL" verdict_is fail 1 "100 1 101 0 0 101 $L"
check "a daemon's cache hits unreadable: FAIL" verdict_is fail 1 "100 0 100 0 0 -1 $L"
check "a daemon not read at all: FAIL" verdict_is fail 2 "100 0 100 0 0 100 $L"
AUTOVALIDATED_STARTS=0  # (this suite started no daemon: no verdict of its own)
summary autovalidator-verdict
