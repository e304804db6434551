#!/bin/bash
# The same black-box harness (this folder's source) built against two trees and run
# alternated: the switch's cost per cached packet, old against new, in one run.
#
# usage: bench/blackbox/compare.sh [OPTIONS] OLD [NEW]
#   OLD, NEW: a git revision (checked out in a temporary worktree under build/) or the path
#             of a tree (used as it is, e.g. another engineer's worktree); NEW defaults to
#             this tree's working copy. `compare.sh HEAD` = this tree against its last commit.
#   OPTIONS: alternate.sh's (-r REPS -s SECONDS -w WARMUP -c CASES -o OUT; see there),
#             passed to it as given; -o DIR also gets header.txt (the two trees)
#   -g        instead of timing, count under valgrind (callgrind.sh: instructions, simulated
#             misses and mispredicts per burst; independent of the machine's load). Takes
#             callgrind.sh's options (-c CASES -w WARMUP -o OUT)
# Prints per case and build the median [min..max] of Mpps, busy cycles per packet (the
# switch's TSC counters: include time other processes took the CPU) and on-CPU cycles per
# packet (the datapath thread's CPU time: what to compare on a shared machine), then the
# ratio new/old of the medians and the median [min..max] of the per-repetition ratios.
# A run whose packets were not all forwarded from the cache fails, and is listed.
#
# Trees from before ring ports were two rings (dpdk/port.cpp without ring_port_rx_name)
# cannot be driven: their temporary worktree gets that change (ring-ports.patch, port
# setup only, nothing per packet) applied first; a tree given as a path is never changed.
# Needs root (DPDK), cmake, ninja; uses ccache when it is installed (its settings, e.g.
# CCACHE_DIR and CCACHE_BASEDIR for a cache shared between trees, from the environment).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
usage() { sed -n '2,/^set -u$/{/^set -u$/!p}' "$0"; exit 2; }
# The options are alternate.sh's, kept as given for it (each but -n takes a value: `-r 5`
# or `-r5`); only -o is read here too. alternate.sh -n checks them before anything is built.
PASS=() OUT="" COUNT=0
[ "${1:-}" = -g ] && { COUNT=1; shift; }
while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do
    case $1 in
        -h) usage ;;
        -o) [ $# -ge 2 ] || usage; OUT=$2 ;;
        -o*) OUT=${1#-o} ;;
    esac
    if [ ${#1} -gt 2 ] || [ "$1" = -n ]; then PASS+=("$1"); shift
    else [ $# -ge 2 ] || usage; PASS+=("$1" "$2"); shift 2; fi
done
[ $COUNT = 1 ] || "$HERE/alternate.sh" -n "${PASS[@]}" || exit 2
[ $# -ge 1 ] && [ $# -le 2 ] || usage
OLD=$1 NEW=${2:-$ROOT}
[ "$(id -u)" = 0 ] || { echo "compare: run as root (DPDK)"; exit 2; }
if command -v ccache >/dev/null; then
    export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache} CMAKE_C_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER:-ccache}
fi
# Under the tree (not /tmp), so that ccache's base directory covers the temporary
# worktrees, and at fixed paths, so that building the same sources again hits the cache.
WORK=$ROOT/build/compare
mkdir -p "$ROOT/build"
exec 9>"$ROOT/build/compare.lock"
flock -n 9 || { echo "compare: another compare.sh runs in this tree"; exit 2; }
# Our temporary worktrees are $WORK/{old,new}/tree (tree_for runs in a subshell: the
# paths are fixed rather than collected).
cleanup() {
    local w
    for w in "$WORK/old/tree" "$WORK/new/tree"; do git -C "$ROOT" worktree remove --force "$w" >/dev/null 2>&1; done
    rm -rf "$WORK"
}
cleanup
mkdir -p "$WORK/old" "$WORK/new"
trap cleanup EXIT
OUT=${OUT:-$ROOT/build/compare-results-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

# tree_for LABEL REV_OR_PATH: prints the tree's folder
tree_for() {
    local label=$1 what=$2 dir
    if [ -d "$what" ]; then
        dir=$(cd "$what" && pwd)
        grep -q ring_port_rx_name "$dir/src/dpdk/port.cpp" || { echo "compare: $dir predates two-ring ports; give a revision instead" >&2; return 1; }
    else
        dir=$WORK/$label/tree
        git -C "$ROOT" worktree add --detach -q "$dir" "$what" || return 1
        if ! grep -q ring_port_rx_name "$dir/src/dpdk/port.cpp"; then
            git -C "$dir" apply "$HERE/ring-ports.patch" || { echo "compare: ring-ports.patch does not apply to $what" >&2; return 1; }
            echo "compare: $what: ring-ports.patch applied (port setup only)" >&2
        fi
    fi
    echo "$dir"
}
# build LABEL TREE: the harness from $HERE against TREE; prints the binary
build() {
    # $WORK/SIDE/{tree,build}: the same relative paths on both sides, so that ccache
    # serves the second build of sources the first one compiled
    local b=$WORK/$1/build
    cmake -S "$HERE" -B "$b" -G Ninja -DIVS_TREE="$2" >"$WORK/$1/cmake.log" 2>&1 &&
        cmake --build "$b" -j 2 --target ivs_blackbox >>"$WORK/$1/cmake.log" 2>&1 ||
        { tail -30 "$WORK/$1/cmake.log" >&2; echo "compare: the harness did not build against $2" >&2; return 1; }
    echo "$b/ivs_blackbox"
}
OLD_TREE=$(tree_for old "$OLD") || exit 1
NEW_TREE=$(tree_for new "$NEW") || exit 1
describe() { git -C "$1" describe --always --dirty 2>/dev/null || echo "$1"; }
echo "compare: old = $OLD ($(describe "$OLD_TREE")), new = $NEW ($(describe "$NEW_TREE"))" | tee "$OUT/header.txt"
echo "compare: building the harness against both trees"
OLD_BIN=$(build old "$OLD_TREE") || exit 1
NEW_BIN=$(build new "$NEW_TREE") || exit 1

# The runs, alternated, and the summary (alternate.sh; also usable alone on two binaries).
if [ $COUNT = 1 ]; then "$HERE/callgrind.sh" "${PASS[@]}" -o "$OUT" "$OLD_BIN" "$NEW_BIN"
else "$HERE/alternate.sh" "${PASS[@]}" -o "$OUT" "$OLD_BIN" "$NEW_BIN"; fi
exit $?
