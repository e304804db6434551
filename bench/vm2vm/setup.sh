#!/bin/bash
# Prepare the machine for the side-by-side benchmark: packages, hugetlbfs, 2 MB hugepages.
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "run as root"
"$BENCH_SRC/../../scripts/install-deps.sh" || die "install-deps failed"
NEED_OVS=1 need_bins
ensure_hugepages
log "hugepages: $(grep -E 'HugePages_(Total|Free)' /proc/meminfo | tr -s ' ' | tr '\n' ' ')"
