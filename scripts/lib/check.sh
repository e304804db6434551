# shellcheck shell=bash
# Test bookkeeping for the shell test suites: `check DESCRIPTION COMMAND...` runs the
# command, prints "ok"/"FAIL" with the tail of its output, and counts; `summary NAME`
# prints "NAME: N passed, M failed" and returns non-zero on any failure.
# Needs $WORK (a scratch directory).
PASS=0; FAIL=0
check() {
    local what=$1; shift
    if "$@" >"$WORK/last.out" 2>&1; then PASS=$((PASS + 1)); echo "ok   $what"; sed 's/^/     /' "$WORK/last.out" | tail -"${CHECK_TAIL_OK:-4}"
    else FAIL=$((FAIL + 1)); echo "FAIL $what"; sed 's/^/     /' "$WORK/last.out" | tail -15; fi
}
summary() {
    # Suites that started ivswitchd with start_switch (netns.sh): its autovalidator's verdict.
    if [ "${AUTOVALIDATED_STARTS:-0}" -gt 0 ]; then
        autovalidator_record
        check "autovalidator: every flow-cache hit agreed with the policy thread's decide()" autovalidator_verdict
    fi
    echo "$1: $PASS passed, $FAIL failed"; [ "$FAIL" = 0 ]
}
