#!/usr/bin/env bash
# The restart gap, measured cheaply (issue 19 item 4; docs/vms.md "The restart gap"): two
# namespaces a and b on af_packet ports, a policy that decides every flow (default drop,
# ping and TCP 5201 allowed), a 100-per-second ping a -> b and a TCP stream a -> b:5201
# running while ivswitchd is stopped (SIGTERM) and started again at once, as `systemctl
# restart` does. Measured:
#   - the ping gap: the longest silence between two answers (ping -D timestamps);
#   - the TCP stream's stall: the longest pause between two receives at b;
#   - the daemon's stop and start phases, from its own log lines ("stop phase", "start
#     phase"), against the moment the old daemon took SIGTERM (its "shutting down" line).
# Checked: both gaps under their bound (RESTART_GAP_MAX_S, RESTART_STALL_MAX_S), the
# flows restored by the new process (switch.flow_restore, docs/config.md) counted.
# usage: restart_test.sh BUILD_DIR      env: RESTART_KEEP=1 prints the daemons' logs
set -u
. "$(dirname "$0")/../../scripts/lib/netns_test.sh" restart ivr "${1:-}"
# Gap bounds a little above what this 2-core machine measures under the other suites' load
# (docs/vms.md): they catch a gross regression only (the code before this change met them
# too). What the change controls is bounded by RESTART_STOP_MAX_S: the old daemon's stop,
# from its logged SIGTERM to the process gone (0.5-2.4 s before the change, ~0.1-0.4 s after).
: "${RESTART_GAP_MAX_S:=6.0}" "${RESTART_STALL_MAX_S:=12.0}" "${RESTART_STOP_MAX_S:=1.0}"
INTERVAL=0.01
CHECK_TAIL_OK=30

SOCK="$WORK/ctl.sock"
METRICS=127.0.0.1:$((20000 + $$ % 20000))
cat >"$WORK/switch.yaml" <<YAML
switch: {instance: $P, control_socket: $SOCK, metrics_address: "$METRICS"}
ports:
  - {name: pa, type: af_packet, interface: $P-a, network: lan}
  - {name: pb, type: af_packet, interface: $P-b, network: lan}
networks:
  - {name: lan, vlan: 71, subnet: 10.71.0.0/24, gateway: 10.71.0.254}
vms:
  - {name: a, port: pa, mac: "02:00:00:00:71:01", ip: 10.71.0.1}
  - {name: b, port: pb, mac: "02:00:00:00:71:02", ip: 10.71.0.2}
policy:
  default: drop
  rules:
    - {name: ping, protocol: icmp, action: allow}
    - {name: stream, protocol: tcp, ports: [5201], action: allow}
YAML
netns_vm a 02:00:00:00:71:01 10.71.0.1/24
netns_vm b 02:00:00:00:71:02 10.71.0.2/24
# Static neighbours: an ARP exchange during the outage would be one more thing measured.
in_vm a ip neigh replace 10.71.0.2 lladdr 02:00:00:00:71:02 dev eth0
in_vm b ip neigh replace 10.71.0.1 lladdr 02:00:00:00:71:01 dev eth0
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd1.log" || exit 1
check "ping a -> b before the restart" in_vm a ping -c 3 -i 0.2 -W 2 10.71.0.2

# Epoch seconds of a log line's timestamp (the daemon logs local time, ms).
log_epoch() { python3 -c 'import sys,time,datetime; d=datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%f"); print(f"{time.mktime(d.timetuple()) + d.microsecond / 1e6:.3f}")' "$1"; }
# Each "stop phase" / "start phase" line of LOG from T0 on, with its time after T0 (epoch seconds).
phases() {  # LOG T0
    grep -E "shutting down|stop phase|start phase|datapath started|ivswitchd running|ivswitchd stopped|flows restored|flow restore" "$1" |
        while read -r ts _ msg; do
            awk -v t="$(log_epoch "$ts")" -v t0="$2" -v m="$msg" 'BEGIN{if (t >= t0 - 0.001) printf "  %+7.3f s  %s\n", t - t0, m}'
        done
}

restart_measured() {
    # Long enough for a slow restart on a loaded machine to end inside them (checked below).
    in_vm b timeout 30 python3 "$HERE/tcp_stream.py" server 5201 20 "$WORK/stream.txt" & local server=$!
    sleep 0.5
    in_vm a timeout 30 python3 "$HERE/tcp_stream.py" client 10.71.0.2 5201 19 & local client=$!
    in_vm a ping -D -n -i "$INTERVAL" -W 1 -w 18 10.71.0.2 >"$WORK/ping.txt" 2>&1 & local ping=$!
    sleep 3
    local t_term t_exit t_up
    stop_switch || { echo "ivswitchd did not stop cleanly"; return 1; }
    t_exit=$(date +%s.%N)
    t_term=$(log_epoch "$(grep -m1 "shutting down" "$WORK/ivswitchd1.log" | cut -d' ' -f1)")
    start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd2.log" || return 1
    t_up=$(date +%s.%N)
    wait $ping $client $server
    read -r GAP RUN GOT LAST LAST_T < <(python3 "$HERE/ping_gap.py" "$WORK/ping.txt" "$INTERVAL")
    STALL=$(cat "$WORK/stream.txt.stall" 2>/dev/null || echo -1)
    echo "phases, from the old daemon's SIGTERM:"
    phases "$WORK/ivswitchd1.log" "$t_term"
    STOP_S=$(awk -v a="$t_term" -v b="$t_exit" 'BEGIN{printf "%.3f", b - a}')
    echo "   +$STOP_S s  old process gone"
    phases "$WORK/ivswitchd2.log" "$t_term"
    awk -v a="$t_term" -v b="$t_up" 'BEGIN{printf "  %+7.3f s  control socket up\n", b - a}'
    echo "ping a -> b every ${INTERVAL} s: $GOT answered up to seq $LAST; longest silence $GAP s ($RUN lost in a row = $(awk -v r="$RUN" -v i="$INTERVAL" 'BEGIN{printf "%.2f", r * i}') s)"
    echo "TCP stream a -> b: longest stall $STALL s; bytes per second: $(tr '\n' ' ' <"$WORK/stream.txt")"
    [ "${RESTART_KEEP:-0}" = 1 ] && cp "$WORK"/ivswitchd[12].log "$WORK"/ping.txt /tmp/ 2>/dev/null
    [ "$GOT" -gt 100 ] || { echo "too few pings answered"; return 1; }
    awk -v l="$LAST_T" -v u="$t_up" 'BEGIN{exit !(l > u + 1)}' || { echo "the pings were not answered again before the ping ended"; return 1; }
    RESTORED=$(curl -s "http://$METRICS/metrics" | awk '$1=="ivswitch_flow_restored_total"{print $2}')
    echo "flows restored by the new daemon: ${RESTORED:-none} (ivswitch_flow_restored_total)"
    awk -v g="$GAP" -v m="$RESTART_GAP_MAX_S" 'BEGIN{exit !(g >= 0 && g <= m)}' || { echo "ping gap $GAP s > bound $RESTART_GAP_MAX_S s"; return 1; }
    awk -v g="$STALL" -v m="$RESTART_STALL_MAX_S" 'BEGIN{exit !(g >= 0 && g <= m)}' || { echo "TCP stall $STALL s > bound $RESTART_STALL_MAX_S s"; return 1; }
    awk -v g="$STOP_S" -v m="$RESTART_STOP_MAX_S" 'BEGIN{exit !(g >= 0 && g <= m)}' || { echo "stop (SIGTERM to process gone) $STOP_S s > bound $RESTART_STOP_MAX_S s"; return 1; }
}
check "restart under a ping and a TCP stream: the gap within bounds" restart_measured
# The ping's and the stream's flows were saved by the old daemon and restored by the new.
check "the new daemon restored the established flows (ivswitch_flow_restored_total >= 2)" test "${RESTORED:-0}" -ge 2
# Among them the TCP stream's (ICMP flows alone would make two): the restore logs it by name.
check "the TCP stream's flow (:5201) was among the restored ('flow restored: tcp ...' in the new daemon's log)" \
    grep -qE "flow restored: tcp .*10\.71\.0\.2:5201.* \(allowed\)" "$WORK/ivswitchd2.log"
summary restart
