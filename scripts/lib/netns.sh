# shellcheck shell=bash
# Namespaces standing in for VMs, attached to the switch by veth pairs. Sourced by the
# demo and the integration tests. Everything created is recorded and removed by
# netns_cleanup (namespaces by name, the daemon by PID), also on Ctrl-C.
#
#   NETNS_PREFIX   prefix of namespace and interface names (<= 7 chars; unique per run)
#
# netns_vm NAME MAC IP/LEN [GATEWAY [VLAN]]
#   creates namespace $NETNS_PREFIX-NAME with eth0 (MAC, IP, default route via GATEWAY);
#   with VLAN, the address sits on eth0.VLAN (the namespace is on a trunk port);
#   returns 2 when the kernel cannot make VLAN devices (no 8021q module).
#   The switch side of the veth is $NETNS_PREFIX-NAME in the root namespace.
# netns_leg NAME LEG MAC IP/LEN: a second interface in NAME's namespace (a router's leg).
# netns_firewall ...: a router namespace with an nftables firewall (see below).

: "${NETNS_PREFIX:=ivs}"
NETNS_CREATED=()
NETNS_LINKS=()

netns_vm() {
    local name=$1 mac=$2 addr=$3 gw=${4:-} vlan=${5:-}
    local ns="$NETNS_PREFIX-$name" host_if="$NETNS_PREFIX-$name" dev=eth0
    ip netns add "$ns" || return 1
    NETNS_CREATED+=("$ns")
    ip link add "$host_if" type veth peer name eth0 netns "$ns" || return 1
    # The switch side only carries frames: no IPv6 autoconf chatter, no kernel offloads
    # that would hand af_packet frames with partial checksums.
    sysctl -qw "net.ipv6.conf.$host_if.disable_ipv6=1" 2>/dev/null
    ethtool -K "$host_if" tx off rx off tso off gso off gro off >/dev/null 2>&1
    ip link set "$host_if" up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" ip link set eth0 address "$mac"
    ip netns exec "$ns" ethtool -K eth0 tx off rx off tso off gso off gro off >/dev/null 2>&1
    ip netns exec "$ns" ip link set eth0 up
    if [ -n "$vlan" ]; then
        ip netns exec "$ns" ip link add link eth0 name "eth0.$vlan" type vlan id "$vlan" 2>/dev/null || return 2
        ip netns exec "$ns" ip link set "eth0.$vlan" up
        dev="eth0.$vlan"
    fi
    ip netns exec "$ns" ip addr add "$addr" dev "$dev"
    [ -n "$gw" ] && ip netns exec "$ns" ip route add default via "$gw"
    return 0
}

# netns_leg NAME LEG MAC IP/LEN: one more interface, LEG, in the namespace of NAME (e.g.
# the second leg of a router); its switch side is $NETNS_PREFIX-LEG in the root namespace.
netns_leg() {
    local ns="$NETNS_PREFIX-$1" leg=$2 mac=$3 addr=$4 host_if="$NETNS_PREFIX-$2"
    ip link add "$host_if" type veth peer name "$leg" netns "$ns" || return 1
    NETNS_LINKS+=("$host_if")
    sysctl -qw "net.ipv6.conf.$host_if.disable_ipv6=1" 2>/dev/null
    ethtool -K "$host_if" tx off rx off tso off gso off gro off >/dev/null 2>&1
    ip link set "$host_if" up
    ip netns exec "$ns" ip link set "$leg" address "$mac"
    ip netns exec "$ns" ethtool -K "$leg" tx off rx off tso off gso off gro off >/dev/null 2>&1
    ip netns exec "$ns" ip link set "$leg" up
    ip netns exec "$ns" ip addr add "$addr" dev "$leg"
}

# netns_firewall LEG1 MAC1 IP1/LEN LEG2 MAC2 IP2/LEN: a router namespace (named after
# LEG1, which is its eth0) with a second leg LEG2 (switch sides $NETNS_PREFIX-LEG1 and
# -LEG2) and the nftables firewall of scripts/lib/firewall.nft; read its counters with
# netns_firewall_count LEG1 COUNTER.
netns_firewall() {
    netns_vm "$1" "$2" "$3" || return 1
    netns_leg "$1" "$4" "$5" "$6" || return 1
    ip netns exec "$NETNS_PREFIX-$1" sysctl -qw net.ipv4.ip_forward=1
    ip netns exec "$NETNS_PREFIX-$1" nft -f "$(dirname "${BASH_SOURCE[0]}")/firewall.nft"
}
netns_firewall_count() { ip netns exec "$NETNS_PREFIX-$1" nft list counter inet ivtest "$2" | awk '/packets/{print $2}'; }

# The in-VM end of a host-VM channel (docs/channels.md), in VM's namespace: the agent's
# interface (a veth pair: agent0 for ivagent's kernel socket, agent0-sw for the nested
# switch), a nested ivswitchd (channels.role guest) on eth0 + agent0-sw, and ivagent.
# Both are stopped by netns_cleanup (SIGTERM); AGENT_PID_<VM> holds the agent's PID.
#   netns_channel_agent VM ID VLAN AGENT_MAC AGENT_IP BUILD_DIR WORK_DIR [IVAGENT_OPTION...]
netns_channel_agent() {
    local vm=$1 id=$2 vlan=$3 amac=$4 aip=$5 bin=$6 work=$7 ns="$NETNS_PREFIX-$1" i dev; shift 7
    ip netns exec "$ns" ip link add agent0 type veth peer name agent0-sw || return 1
    for dev in agent0 agent0-sw; do
        ip netns exec "$ns" ethtool -K "$dev" tx off rx off tso off gso off gro off >/dev/null 2>&1
        ip netns exec "$ns" ip link set "$dev" up
    done
    ip netns exec "$ns" ip link set agent0 address "$amac"
    ip netns exec "$ns" ip addr add "$aip/16" dev agent0
    cat >"$work/$vm-nested.yaml" <<YAML
switch: {instance: $ns, control_socket: $work/$vm-nested.sock, metrics_address: "", hugepages: "off"}
flows: {table_size: 4096}
ports:
  - {name: uplink, type: af_packet, interface: eth0}
  - {name: agent, type: af_packet, interface: agent0-sw}
channels:
  role: guest
  uplink: uplink
  map:
    - {id: $id, vlan: $vlan, port: agent, agent_mac: "$amac", agent_ip: $aip}
YAML
    # ip netns exec runs the daemon in its own process, so $! is its PID (a shell
    # function in the background would give a subshell's, which SIGTERM would not reach).
    ip netns exec "$ns" "$bin/ivswitchd" --config "$work/$vm-nested.yaml" >"$work/$vm-nested.log" 2>&1 &
    netns_daemon $!
    for i in $(seq 1 100); do [ -S "$work/$vm-nested.sock" ] && break; sleep 0.1; done
    [ -S "$work/$vm-nested.sock" ] || { echo "nested switch in $vm did not start:"; cat "$work/$vm-nested.log"; return 1; }
    ip netns exec "$ns" "$bin/ivagent" run --ip "$aip" --id "$id" --name "$vm" "$@" >"$work/$vm-agent.log" 2>&1 &
    netns_daemon $!
    eval "AGENT_PID_$vm=$!"
}

# Run a command inside a VM's namespace: in_vm NAME cmd...
in_vm() { local n=$1; shift; ip netns exec "$NETNS_PREFIX-$n" "$@"; }

# Start a packet capture (tshark or tcpdump) in a VM's namespace, in the background, and
# return once it is capturing: both say so on stderr. A fixed sleep before sending lost
# the first packets on a loaded 2-core CI machine. Checks built on a capture should still
# send more packets than they require. The capture's stdout goes to OUT, its
# stderr to OUT.stderr; its PID (the capture itself, not a subshell) to CAPTURE_PID.
#   in_vm_capture NAME OUT cmd...
in_vm_capture() {
    local n=$1 out=$2 i; shift 2
    ip netns exec "$NETNS_PREFIX-$n" "$@" >"$out" 2>"$out.stderr" &
    CAPTURE_PID=$!
    for i in $(seq 1 150); do
        # tshark says so when dumpcap has started, a moment before its socket may see
        # packets (CI lost a first ping even so): half a second more.
        grep -q "^Capturing on" "$out.stderr" && { sleep 0.5; return 0; }
        grep -q "listening on" "$out.stderr" && return 0
        kill -0 "$CAPTURE_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "capture in $n did not start:"; cat "$out.stderr"; return 1
}

# Start ivswitchd in the background; its PID goes to IVSWITCHD_PID. Waits for the control socket.
# Every daemon start_switch starts runs with the autovalidator (a test mode: each packet
# served from the flow cache is checked against the policy thread's decision; see
# docs/architecture.md) unless IVS_AUTOVALIDATOR=0; stop_switch reads its counters before
# stopping it, and the suite's summary fails if any of them counted a mismatch.
start_switch() {  # BIN CONFIG SOCKET LOG
    local bin=$1 cfg=$2 sock=$3 log=$4 i av=()
    [ "${IVS_AUTOVALIDATOR:-1}" = 0 ] || av=(--autovalidator)
    "$bin" --config "$cfg" "${av[@]}" >"$log" 2>&1 &
    IVSWITCHD_PID=$!
    IVSWITCHD_SOCK=$sock; IVSWITCHD_LOG=$log; IVSWITCHD_CTL=$(dirname "$bin")/ivctl
    [ ${#av[@]} = 0 ] || AUTOVALIDATED_STARTS=$((${AUTOVALIDATED_STARTS:-0} + 1))
    for i in $(seq 1 100); do
        [ -S "$sock" ] && return 0
        kill -0 "$IVSWITCHD_PID" 2>/dev/null || { echo "ivswitchd exited; log:"; cat "$log"; return 1; }
        sleep 0.1
    done
    echo "ivswitchd did not open $sock in 10 s; log:"; cat "$log"; return 1
}

# The running daemon's autovalidator counters, one line appended to $WORK/autovalidator:
# "CHECKED MISMATCH SAMPLED RING_FULL STALE CACHE_HITS LOG" (CACHE_HITS: the packets its
# datapath served from the flow cache, read first, so that a validator that stopped
# sampling or checking shows as hits with nothing checked).
autovalidator_record() {
    [ -n "${IVSWITCHD_PID:-}" ] && [ "${IVS_AUTOVALIDATOR:-1}" != 0 ] || return 0
    local hits
    hits=$("$IVSWITCHD_CTL" --socket "$IVSWITCHD_SOCK" --json show stats 2>/dev/null | python3 -c '
import json, sys
e = json.load(sys.stdin)["events"]
print(e["flow.cache.emc_hits"] + e["flow.cache.table_hits"])') || hits=-1
    "$IVSWITCHD_CTL" --socket "$IVSWITCHD_SOCK" --json show policy 2>/dev/null | python3 -c '
import json, sys
a = json.load(sys.stdin).get("autovalidator")
if a: print(a["checked"], a["mismatch"], a["sampled"], a["ring_full"], a["stale"], sys.argv[2], sys.argv[1])' "$IVSWITCHD_LOG" "$hits" >>"$WORK/autovalidator"
}

# For the summary: every autovalidated daemon was read, none counted a mismatch, and
# when the suite's daemons served packets from the flow cache, the autovalidator checked
# some of them (a validator that silently checked nothing passed before: 0 mismatches).
autovalidator_verdict() {
    local f=$WORK/autovalidator reads=0
    [ -s "$f" ] && reads=$(wc -l <"$f")
    [ "$reads" -ge "${AUTOVALIDATED_STARTS:-0}" ] || { echo "only $reads of ${AUTOVALIDATED_STARTS:-0} daemons' counters read"; return 1; }
    # Per daemon too: one daemon whose validator checked none of the 100 or more hits it
    # served (and lost or saw changed fewer than it served) fails the suite even when
    # another's checked plenty. (A daemon stopped just after a few hits may not have had
    # them checked yet: the policy thread takes the samples asynchronously.)
    awk '{c += $1; m += $2; s += $3; f += $4; st += $5; if ($6 < 0) unread++; else h += $6
          if ($6 >= 100 && $1 == 0 && $4 + $5 < $6) silent++} END {
        printf "%d cache hits checked, %d mismatched (%d sampled, %d lost to a full ring, %d changed since served; %d packets served from the flow cache)\n", c, m, s, f, st, h
        if (unread) printf "the flow-cache hits of %d daemon(s) could not be read\n", unread
        if (h > 0 && c == 0) print "the daemons served packets from the flow cache, but the autovalidator checked none of them"
        else if (silent) printf "%d daemon(s) served packets from the flow cache, but their autovalidator checked none of them\n", silent
        exit m != 0 || unread > 0 || (h > 0 && c == 0) || silent > 0}' "$f" && return 0
    awk '$2 > 0 {print $7}' "$f" | sort -u | xargs -r grep -h "autovalidator: mismatch" | head -5
    return 1
}

stop_switch() {  # SIGTERM by PID, then wait; prints nothing; returns the daemon's status
    [ -n "${IVSWITCHD_PID:-}" ] || return 0
    autovalidator_record
    local pid=$IVSWITCHD_PID rc=0 i
    IVSWITCHD_PID=""
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; return 137; fi
    wait "$pid" 2>/dev/null || rc=$?
    return $rc
}

# A daemon started inside a namespace (a nested ivswitchd, an agent) that must end with
# SIGTERM, so that it cleans up after itself (DPDK runtime files): netns_daemon PID.
NETNS_DAEMONS=()
netns_daemon() { NETNS_DAEMONS+=("$1"); }

# Kill processes still running inside our namespaces (iperf3 servers...), then remove them.
netns_cleanup() {
    local ns pid i
    stop_switch || true
    for pid in "${NETNS_DAEMONS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${NETNS_DAEMONS[@]}"; do
        for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    NETNS_DAEMONS=()
    for ns in "${NETNS_CREATED[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
        ip link del "$ns" 2>/dev/null  # the switch-side veth (same name); gone with the peer, but not at once
    done
    for ns in "${NETNS_LINKS[@]}"; do ip link del "$ns" 2>/dev/null; done
    NETNS_CREATED=()
    NETNS_LINKS=()
}

# CPU time (in % of one core) used by PID over SECONDS; with THREAD, by its thread of
# that name only (e.g. ivs-policy).
cpu_percent() {  # PID SECONDS [THREAD]
    local pid=$1 secs=$2 stat="/proc/$1/stat" t t0 t1 hz
    if [ -n "${3:-}" ]; then
        stat=""
        for t in /proc/"$pid"/task/*; do [ "$(cat "$t/comm" 2>/dev/null)" = "$3" ] && stat="$t/stat"; done
        [ -n "$stat" ] || { echo "nan"; return 1; }
    fi
    hz=$(getconf CLK_TCK)
    t0=$(awk '{print $14+$15}' "$stat")
    sleep "$secs"
    t1=$(awk '{print $14+$15}' "$stat")
    awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$secs" 'BEGIN{printf "%.1f\n", 100*(b-a)/(hz*s)}'
}
