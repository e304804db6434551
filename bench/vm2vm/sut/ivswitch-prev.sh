# shellcheck shell=bash
# Switch under test: another ivswitch build (IVSWITCH_PREV_BUILD, e.g. the previous commit
# built beside this tree), with the same modes as sut/ivswitch.sh, so that one run.sh or
# suite.sh run measures both builds in the same repetitions:
#   IVSWITCH_PREV_BUILD=/tmp/ivs-prev/build/release run.sh ivswitch:l2 ivswitch-prev:l2
[ -n "${IVSWITCH_PREV_BUILD:-}" ] || die "ivswitch-prev: set IVSWITCH_PREV_BUILD to the other build's folder"
[ -x "$IVSWITCH_PREV_BUILD/ivswitchd" ] || die "ivswitch-prev: no $IVSWITCH_PREV_BUILD/ivswitchd"
IVSWITCH_BUILD=$IVSWITCH_PREV_BUILD
# shellcheck source=ivswitch.sh
. "$BENCH_SRC/sut/ivswitch.sh"
