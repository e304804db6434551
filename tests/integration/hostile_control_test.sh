#!/usr/bin/env bash
# The control plane against hostile and careless input (docs/security.md), through the
# real daemon on pcap and discard ports (no namespaces needed):
#   requests bounded on /metrics and the control socket: 1 GiB POSTs get 413 before the
#     body is read, chunked bodies 411, megabytes of headers are refused, memory stays flat;
#     8 slow senders per server leave both usable and are cut at the request deadline;
#     connections beyond the bound get 503 at once (counted);
#   sloppy answers: invalid UTF-8 method names, parameters of the wrong type or range, the
#     channel socket's 64-bit ids, empty and oversized datagrams; every error answer's code
#     and path (unknown method, type, range, a bad mirror, a bad reload), ivctl printing it;
#   mirror paths (/proc, folders, missing folders, the control socket, symlinks) and names
#     refused at the request; a 3000-term filter refused at once;
#   reload with switch.cores: [1] works and answers after its own revalidation; a reload of
#     a malformed file answers with FILE:LINE; type ring refused at --check; a control_socket
#     naming a regular file refused and the file kept; ivctl capture --seconds -1 refused.
# Every daemon the test starts is stopped by its PID. usage: hostile_control_test.sh BUILD_DIR
set -u
[ "$(id -u)" = 0 ] || { echo "hostile: SKIPPED: needs root (DPDK)"; exit 0; }
exec python3 "$(dirname "$0")/hostile_control.py" "${1:-build/release}"
