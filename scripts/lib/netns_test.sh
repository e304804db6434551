# shellcheck shell=bash
# The common start of a namespace test suite. Sourced with arguments:
#   . scripts/lib/netns_test.sh SUITE PREFIX BUILD_DIR
# sets BUILD (absolute), HERE (the test's folder), NETNS_PREFIX and P (PREFIX + PID, 7
# chars), WORK (a temporary folder), sources netns.sh and check.sh, and arranges that
# everything is removed on exit (also on Ctrl-C). Without root or BUILD_DIR it prints the
# suite's failure line and exits.
_suite=$1
[ -n "${3:-}" ] || { echo "usage: $(basename "$0") BUILD_DIR"; echo "$_suite: 0 passed, 1 failed"; exit 2; }
BUILD=$(cd "$3" && pwd) || { echo "$_suite: no build directory $3"; echo "$_suite: 0 passed, 1 failed"; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
NETNS_PREFIX="$2$$"; NETNS_PREFIX=${NETNS_PREFIX:0:7}
P=$NETNS_PREFIX
. "$(dirname "${BASH_SOURCE[0]}")/netns.sh"
. "$(dirname "${BASH_SOURCE[0]}")/check.sh"
[ "$(id -u)" = 0 ] || { echo "$_suite: needs root (network namespaces)"; echo "$_suite: 0 passed, 1 failed"; exit 1; }
WORK=$(mktemp -d "/tmp/ivs-$_suite.XXXXXX")
trap 'netns_cleanup; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
