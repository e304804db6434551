#!/usr/bin/env bash
# /metrics as a real Prometheus takes it: promtool (Debian's prometheus package) lints the
# exposition of a switch with every optional family on (QoS, mirrors, channels, ethertypes), including a
# mirror whose pcapng path holds a quote and a backslash (label values must be escaped);
# then Debian's prometheus binary, started here on loopback with its own config and
# storage in a temporary folder (not the system service), scrapes the switch every second
# while vm1 pings vm2, and its HTTP API answers: the target is up, and
# rate(ivswitch_port_rx_packets_total{port="vm1"}[5s]) is the ping rate. Needs root.
# Cleans up everything it starts (prometheus by PID, namespaces, temporary folders).
#
#   vm1, vm2  network web (10.0.1.0/24)
#
# usage: prometheus_test.sh BUILD_DIR
set -u
. "$(dirname "$0")/../../scripts/lib/netns_test.sh" prometheus ivprom "${1:-}"
for t in promtool prometheus curl; do
    command -v $t >/dev/null || { echo "prometheus: $t not installed (scripts/install-deps.sh)"; echo "prometheus: 0 passed, 1 failed"; exit 1; }
done
PROM_PID=""
stop_prometheus() {
    [ -n "$PROM_PID" ] || return 0
    kill -TERM "$PROM_PID" 2>/dev/null
    for i in $(seq 1 50); do kill -0 "$PROM_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PROM_PID" 2>/dev/null; wait "$PROM_PID" 2>/dev/null; PROM_PID=""
}
trap 'stop_prometheus; netns_cleanup; rm -rf "$WORK"' EXIT

. "$(dirname "$0")/../../scripts/lib/counters_switch.sh"
counters_switch_up 2 "" "" "ethertypes: {sample_every: 10}" || exit 1
PROM=127.0.0.1:$(free_port)
in_vm vm1 ping -c 2 -W 1 10.0.1.12 >/dev/null
# 10 pings a second for the whole run (ended with the namespaces).
in_vm vm1 ping -i 0.1 -W 1 10.0.1.12 >/dev/null 2>&1 &
# A tool described by a path with a quote and a backslash: the label value must be escaped.
ivctl mirror add odd --tap vm1 --pcapng "$WORK/we\"ird\\name.pcapng" >/dev/null
# At once, before the broker may have taken the new tool: its series are labelled from its
# config (they said tool="" until the broker described it; two tools added at once then
# made two series with the same labels).
curl -sf "http://$METRICS/metrics" >"$WORK/metrics-at-add.txt"
# Its file is started by the first copy: wait for that (a ping), so that the escaped path
# and the file it started are what gets checked.
for i in $(seq 1 50); do
    curl -sf "http://$METRICS/metrics" | grep -qE '^ivswitch_mirror_files_started_total\{mirror="odd",tool="pcapng .*\} [1-9]' && break
    sleep 0.1
done

lint() {
    curl -sf "http://$METRICS/metrics" >"$WORK/metrics.txt" || { echo "no /metrics at $METRICS"; return 1; }
    echo "$(grep -c '^# TYPE' "$WORK/metrics.txt") families, $(grep -vc '^#' "$WORK/metrics.txt") samples"
    grep -F 'tool="pcapng ' "$WORK/metrics.txt" | head -1
    grep -qF 'tool="pcapng ' "$WORK/metrics.txt" || { echo "no pcapng tool in /metrics: the escaping is not checked"; return 1; }
    if grep -h 'tool=""' "$WORK/metrics-at-add.txt" "$WORK/metrics.txt" | head -3 | grep .; then echo "a tool without a description in /metrics"; return 1; fi
    local out; out=$(promtool check metrics <"$WORK/metrics.txt" 2>&1); local rc=$?
    echo "promtool: rc=$rc ${out:-no problems}"
    [ $rc = 0 ] && [ -z "$out" ] || return 1
    # the optional families were there to be linted
    local f
    for f in ivswitch_qos_meter_packets_total ivswitch_qos_queue_length ivswitch_channel_to_vm_total ivswitch_mirror_delivered_total \
             ivswitch_pmd_busy_seconds_total ivswitch_mbufs_capacity ivswitch_control_refused_total \
             ivswitch_port_device_rx_errors_total ivswitch_port_device_tx_errors_total ivswitch_port_device_rx_nombuf_total \
             ivswitch_pmd_iterations_total ivswitch_pmd_page_faults_total ivswitch_prefault_bytes ivswitch_prefault_seconds \
             ivswitch_channel_socket_bad_requests_total ivswitch_channel_socket_bad_frames_total ivswitch_channel_to_vm_bytes_total \
             ivswitch_qos_vm_metered_total ivswitch_qos_vm_meter_dropped_total ivswitch_qos_meter_remarked_total \
             ivswitch_qos_queue_bytes_total ivswitch_mirror_delivered_bytes_total ivswitch_mirror_files_started_total \
             ivswitch_ethertype_frames_total ivswitch_ethertype_overflow_frames_total ivswitch_ethertype_entries; do
        grep -q "^# TYPE $f " "$WORK/metrics.txt" || { echo "family $f missing"; return 1; }
    done
}
# Series that the switch's own work moved: the pcapng tool started its file, vm1's pings
# (AF21, class interactive) went through vm2's scheduled queue, the datapath thread polled.
moved() {  # each series present, and every line of it at least 1
    local p
    for p in '^ivswitch_mirror_files_started_total\{mirror="odd",' '^ivswitch_qos_queue_bytes_total\{port="vm2",class="interactive"\}' \
             '^ivswitch_pmd_iterations_total\{'; do
        grep -E "$p" "$WORK/metrics.txt" >"$WORK/moved.txt" || { echo "no series matches $p"; return 1; }
        cat "$WORK/moved.txt"
        awk '$NF + 0 < 1 { bad = 1 } END { exit bad }' "$WORK/moved.txt" || { echo "a series of $p did not move"; return 1; }
    done
}
check "promtool check metrics: no problem (names, types, help, _total, escaped labels)" lint
check "the new series count: files started, queue bytes, loop iterations (each >= 1)" moved

cat >"$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: ivswitch
    static_configs: [{targets: ["$METRICS"]}]
YAML
config_ok() { promtool check config "$WORK/prometheus.yml"; }
check "promtool check config: the scrape config" config_ok

mkdir -p "$WORK/tsdb"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" --web.listen-address="$PROM" \
    --web.console.templates="$WORK" --web.console.libraries="$WORK" --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
query() {  # PROMQL: prints the first sample's value ("" if none)
    curl -sf -G "http://$PROM/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
started() {
    for i in $(seq 1 300); do
        curl -sf "http://$PROM/-/ready" >/dev/null && { echo "prometheus ready after $((i / 10)).$((i % 10)) s"; return 0; }
        kill -0 "$PROM_PID" 2>/dev/null || { cat "$WORK/prometheus.log"; return 1; }
        sleep 0.1
    done
    cat "$WORK/prometheus.log"; return 1
}
check "Debian's prometheus starts on $PROM (own config and storage)" started

target_up() {
    local up="" i
    for i in $(seq 1 100); do up=$(query 'up{job="ivswitch"}'); [ "$up" = 1 ] && break; sleep 0.2; done
    curl -sf "http://$PROM/api/v1/targets" | python3 -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
print([(x["scrapeUrl"], x["health"], x["lastError"]) for x in t])
sys.exit(0 if len(t) == 1 and t[0]["health"] == "up" and t[0]["lastError"] == "" else 1)' && [ "$up" = 1 ]
}
check "the switch's target is up, scraped without error" target_up

rx_rate() {
    local v="" i
    for i in $(seq 1 60); do
        v=$(query 'rate(ivswitch_port_rx_packets_total{port="vm1"}[5s])')
        [ -n "$v" ] && python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)" "$v" && break
        sleep 0.25
    done
    sleep 5  # a window filled with scrapes
    v=$(query 'rate(ivswitch_port_rx_packets_total{port="vm1"}[5s])')
    echo "rate(ivswitch_port_rx_packets_total{port=\"vm1\"}[5s]) = $v (ping -i 0.1: 10/s)"
    echo "rate(ivswitch_pmd_busy_seconds_total[5s]) = $(query 'rate(ivswitch_pmd_busy_seconds_total[5s])'), ivswitch_mbufs_capacity = $(query ivswitch_mbufs_capacity)"
    python3 -c "import sys; sys.exit(0 if 5 <= float(sys.argv[1]) <= 20 else 1)" "${v:-0}" &&
        [ -n "$(query 'ivswitch_mbufs_capacity > 0')" ]
}
check "PromQL through the HTTP API: rate of vm1's received packets is the ping rate" rx_rate

stopped() { local pid=$PROM_PID; stop_prometheus; ! kill -0 "$pid" 2>/dev/null; }
check "prometheus stopped by PID" stopped

summary prometheus
