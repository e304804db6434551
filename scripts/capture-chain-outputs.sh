#!/usr/bin/env bash
# Like capture-outputs.sh, for the policy and chain counters: the chain test's topology
# (scripts/lib/chain_topology.sh: a router namespace as chain fw's device), a TCP flow
# inspected then shortcut, a ping; saves `ivctl show policy|chains|flows` (human and
# --json) and /metrics. Needs root and nft.
#
# usage: capture-chain-outputs.sh BUILD_DIR OUT_DIR
set -u
OUT=${2:?usage: capture-chain-outputs.sh BUILD_DIR OUT_DIR}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
. "$(dirname "$0")/lib/netns_test.sh" capture ivcch "${1:-}"
SOCK="$WORK/ctl.sock"
METRICS="127.0.0.1:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
. "$(dirname "$0")/lib/chain_topology.sh"
chain_topology_config "$SOCK" "$METRICS" ", verify_timeout_ms: 1000, on_failure: closed" \
    '    - {name: inspect-db, from: vm1, to: vm3, protocol: tcp, action: {inspect: fw}}'
chain_topology_up || exit 1
in_vm vm1 ip neigh replace 10.0.1.1 lladdr 02:fe:00:00:00:01 dev eth0 nud permanent
in_vm vm3 ip neigh replace 10.0.2.1 lladdr 02:fe:00:00:00:02 dev eth0 nud permanent
start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
STREAM="python3 $(dirname "$0")/../tests/integration/tcp_stream.py"
sleep 0.5
in_vm vm1 ping -c 2 -i 0.2 -W 2 10.0.2.13 >/dev/null
in_vm vm3 timeout 10 $STREAM server 5432 1 "$WORK/s1.txt" & S=$!
sleep 0.4; in_vm vm1 $STREAM client 10.0.2.13 5432 1; wait $S
for v in policy chains flows; do
    ivctl show $v >"$OUT/show-$v.txt" 2>&1
    ivctl --json show $v >"$OUT/show-$v.json" 2>&1
done
curl -sf "http://$METRICS/metrics" >"$OUT/metrics.txt"
echo "captured $(ls "$OUT" | wc -l) files in $OUT"
