# shellcheck shell=bash
# Switch under test: Open vSwitch 3.1 userspace (netdev) datapath with DPDK, from Debian's
# openvswitch-switch-dpdk, run from a private directory (no system service, no /etc or /var state).
# Ports: vhA = ofport 1 (dpdkvhostuserclient -> SOCK_A), vhB = ofport 2 (-> SOCK_B).
# Modes:
#   normal      one bridge, the default NORMAL action (MAC learning); MAC_B is added as a static
#               FDB entry on vhB so nothing is flooded (flooding would hit the bridge's tap port)
#   ofrule      explicit rules: in_port=1,actions=output:2 and in_port=2,actions=output:1
#   ct          stateful firewall: ct(table=1); +new from port 1 -> ct(commit),output:2;
#               +est both ways allowed; everything else dropped (2 datapath passes per packet)
#   normal-smc, ofrule-smc, ct-smc   the same with other_config:smc-enable=true
#   routed      what ivswitch:routed does, as OpenFlow: frames to the gateway MAC for
#               10.1.0.0/16 get new MACs, TTL-1, and go out port 2 (dec_ttl, mod_dl_*)
#   acl1k       what ivswitch:policy1k does, as OpenFlow (stateless): 999 drop rules that
#               never match, then ip from port 1 -> output 2 (and port 2 -> 1)
#   ct1k        stateful acl1k: the 999 drop rules first, then ct as in `ct` (what
#               ivswitch:policy1k does, whose every flow is stateful)
#   dscp        ofrule plus mod_nw_tos:184 (DSCP EF) on every IP packet from port 1 (what
#               ivswitch:qos does to the generator's DSCP-0 frames)
#   flowsetup   ofrule + upcall/disable-megaflows (every 5-tuple needs its own datapath flow)
#               + pmd-perf-metrics=true; used by flowsetup.sh
#
# SUT plugin contract: see sut/testpmd-io.sh and README.md.

OVS_DIR="$BENCH_DIR/ovs"
OVS_BR=ivsbbr0                       # also the name of a tap device OVS creates; keep <= 15 chars

ovs_env() { export OVS_RUNDIR="$OVS_DIR" OVS_LOGDIR="$OVS_DIR" OVS_DBDIR="$OVS_DIR" OVS_SYSCONFDIR="$OVS_DIR"; }
vsctl()  { ovs_env; ovs-vsctl --db="unix:$OVS_DIR/db.sock" --timeout=60 "$@"; }
appctl() { ovs_env; ovs-appctl -t "$OVS_DIR/ovs-vswitchd.ctl" "$@"; }
ofctl()  { ovs_env; ovs-ofctl "$@"; }

# The 999 OpenFlow rules of ivswitch:policy1k's never-matching drop rules; $1 prefixes each.
ovs_drop_rules() {
    local i
    for i in $(seq 0 998); do
        echo "${1}priority=$((2000 - i)),tcp,nw_src=172.16.$((i / 256)).$((i % 256)),nw_dst=172.17.$((i / 256)).$((i % 256)),tp_dst=$((1 + i)),actions=drop"
    done
}

sut_start() {
    local mode=${1:-normal} i base=${1%-smc}
    ovs_env
    rm -rf "$OVS_DIR"; mkdir -p "$OVS_DIR"
    ovsdb-tool create "$OVS_DIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema || die "ovsdb-tool create"
    spawn ovsdb taskset -c "$SW_CPU" ovsdb-server "$OVS_DIR/conf.db" --remote="punix:$OVS_DIR/db.sock" \
        --unixctl="$OVS_DIR/ovsdb-server.ctl" --log-file="$OVS_DIR/ovsdb-server.log" -vconsole:off
    for i in $(seq 1 100); do [ -S "$OVS_DIR/db.sock" ] && break; sleep 0.1; done
    vsctl --no-wait init
    local extra
    if [ "$MEM_MODE" = nohuge ]; then
        # OVS 3.1 appends --in-memory unless --legacy-mem is given; --no-huge is legacy memory anyway
        # (and the shared mempool of 262144 mbufs needs ~1 GB: no smaller retry without hugepages)
        extra="--no-huge --legacy-mem -m $(( OVS_MEM_MB > 1100 ? OVS_MEM_MB : 1100 )) --no-pci --file-prefix=${EAL_PREFIX}_ovs"
        vsctl --no-wait set Open_vSwitch . other_config:dpdk-extra="$extra"
    else
        extra="--in-memory --no-pci --file-prefix=${EAL_PREFIX}_ovs"
        vsctl --no-wait set Open_vSwitch . other_config:dpdk-extra="$extra" other_config:dpdk-socket-mem="$OVS_MEM_MB"
    fi
    vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
        other_config:pmd-cpu-mask="$(printf '0x%x' $((1 << SW_CPU)))"
    case "$mode" in
        *-smc) vsctl --no-wait set Open_vSwitch . other_config:smc-enable=true ;;
    esac
    [ "$mode" = flowsetup ] && vsctl --no-wait set Open_vSwitch . other_config:pmd-perf-metrics=true
    # taskset: every OVS thread (main, handlers, revalidators, vhost) stays on SW_CPU;
    # OVS derives its EAL "-l" from this affinity and puts the PMD thread there too.
    spawn ovs taskset -c "$SW_CPU" "$OVS_VSWITCHD_DPDK" "unix:$OVS_DIR/db.sock" \
        --unixctl="$OVS_DIR/ovs-vswitchd.ctl" --log-file="$OVS_DIR/ovs-vswitchd.log" -vconsole:off
    vsctl wait-until Open_vSwitch . dpdk_initialized=true || die "OVS DPDK init failed, see $OVS_DIR/ovs-vswitchd.log"
    # Bridge and OpenFlow rules first, ports last: traffic starts as soon as the ports connect,
    # and must not meet a half-configured switch (e.g. megaflows installed before
    # upcall/disable-megaflows in flowsetup mode).
    vsctl add-br "$OVS_BR" -- set bridge "$OVS_BR" datapath_type=netdev || die "add-br failed"
    case "$base" in
        normal) ;;
        ofrule|flowsetup)
            ofctl del-flows "$OVS_BR"
            ofctl add-flow "$OVS_BR" "in_port=1,actions=output:2"
            ofctl add-flow "$OVS_BR" "in_port=2,actions=output:1"
            [ "$mode" = flowsetup ] && appctl upcall/disable-megaflows >/dev/null ;;
        acl1k)
            ofctl del-flows "$OVS_BR"
            local f="$OVS_DIR/acl1k.flows"
            ovs_drop_rules "" >"$f"
            echo "priority=10,in_port=1,udp,nw_src=10.0.0.0/8,actions=output:2" >>"$f"
            echo "priority=10,in_port=2,actions=output:1" >>"$f"
            ofctl add-flows "$OVS_BR" "$f" ;;
        dscp)
            ofctl del-flows "$OVS_BR"
            ofctl add-flow "$OVS_BR" "in_port=1,ip,actions=mod_nw_tos:184,output:2"
            ofctl add-flow "$OVS_BR" "in_port=2,actions=output:1" ;;
        ct1k)
            ofctl del-flows "$OVS_BR"
            local f="$OVS_DIR/ct1k.flows"
            ovs_drop_rules "table=0," >"$f"
            echo "table=0,priority=100,ip,actions=ct(table=1)" >>"$f"
            echo "table=0,priority=0,actions=drop" >>"$f"
            echo "table=1,priority=100,ip,in_port=1,ct_state=+trk+new,actions=ct(commit),output:2" >>"$f"
            echo "table=1,priority=100,ip,in_port=1,ct_state=+trk+est,actions=output:2" >>"$f"
            echo "table=1,priority=100,ip,in_port=2,ct_state=+trk+est,actions=output:1" >>"$f"
            echo "table=1,priority=0,actions=drop" >>"$f"
            ofctl add-flows "$OVS_BR" "$f" ;;
        routed)
            ofctl del-flows "$OVS_BR"
            ofctl add-flow "$OVS_BR" "in_port=1,ip,dl_dst=$GW_MAC_A,nw_dst=10.1.0.0/16,actions=mod_dl_src:02:00:00:00:00:fd,mod_dl_dst:$MAC_B,dec_ttl,output:2" ;;
        ct)
            ofctl del-flows "$OVS_BR"
            ofctl add-flow "$OVS_BR" "table=0,priority=100,ip,actions=ct(table=1)"
            ofctl add-flow "$OVS_BR" "table=0,priority=0,actions=drop"
            ofctl add-flow "$OVS_BR" "table=1,priority=100,ip,in_port=1,ct_state=+trk+new,actions=ct(commit),output:2"
            ofctl add-flow "$OVS_BR" "table=1,priority=100,ip,in_port=1,ct_state=+trk+est,actions=output:2"
            ofctl add-flow "$OVS_BR" "table=1,priority=100,ip,in_port=2,ct_state=+trk+est,actions=output:1"
            ofctl add-flow "$OVS_BR" "table=1,priority=0,actions=drop" ;;
        *) die "ovs-dpdk: unknown mode $mode" ;;
    esac
    vsctl add-port "$OVS_BR" vhA -- set Interface vhA type=dpdkvhostuserclient \
              options:vhost-server-path="$SOCK_A" ofport_request=1 \
        -- add-port "$OVS_BR" vhB -- set Interface vhB type=dpdkvhostuserclient \
              options:vhost-server-path="$SOCK_B" ofport_request=2 || die "add-port failed"
    if [ "$base" = normal ]; then
        appctl fdb/add "$OVS_BR" vhB 0 "$MAC_B" >/dev/null
        appctl fdb/add "$OVS_BR" vhA 0 "$MAC_A" >/dev/null
    fi
    appctl dpif-netdev/pmd-stats-clear >/dev/null 2>&1 || true
}

# called by run.sh when the measurement window starts
sut_measure_begin() { appctl dpif-netdev/pmd-stats-clear; }

sut_collect() {
    # "avg processing cycles per packet: 245.10 (1234/5)": busy cycles per packet since the clear
    appctl dpif-netdev/pmd-stats-show | awk -F': ' '/avg processing cycles per packet/ {split($2, a, " "); print a[1]; exit}' \
        >"$RUN_DIR/cycles.txt" 2>/dev/null
    {
        echo "== pmd-stats-show";  appctl dpif-netdev/pmd-stats-show
        echo "== datapath flows";  appctl dpctl/dump-flows | wc -l
        appctl dpctl/dump-flows -m | head -5
        echo "== conntrack entries"; appctl dpctl/ct-stats-show 2>/dev/null
        echo "== interfaces"
        vsctl --columns=name,statistics list Interface vhA vhB
        echo "== coverage"; appctl coverage/show | head -40
    } >"$RUN_DIR/ovs-stats.txt" 2>&1
}

sut_stop() {
    if [ -f "$PIDDIR/ovs.pid" ] && [ -d "/proc/$(cat "$PIDDIR/ovs.pid")" ]; then
        appctl exit --cleanup >/dev/null 2>&1 || true
        local i; for i in $(seq 1 50); do [ -d "/proc/$(cat "$PIDDIR/ovs.pid")" ] || break; sleep 0.2; done
    fi
    stop_pidfile "$PIDDIR/ovs.pid"
    stop_pidfile "$PIDDIR/ovsdb.pid"
    cp -f "$OVS_DIR"/*.log "$RUN_DIR/" 2>/dev/null || true
    rm -rf "$OVS_DIR"
    ovs_del_tap
}

# If OVS died without "exit --cleanup", the bridge's tap device stays (it is persistent).
ovs_del_tap() {
    if ip -d link show "$OVS_BR" 2>/dev/null | grep -q ' tun '; then
        ip link delete "$OVS_BR" 2>/dev/null || true
    fi
}
