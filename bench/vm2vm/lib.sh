# shellcheck shell=bash
# Common code for the vhost-user switch benchmark harness. Sourced, not run.
# Adapted from ../shared/bench (the reference harness): adds routed-traffic pcaps.
#
# Everything this harness starts is recorded as a PID file under $BENCH_DIR/pids
# and stopped by that PID only (never by process name).

set -o pipefail

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---- tunables (environment overrides) -------------------------------------
: "${BENCH_DIR:=/tmp/ivsbench}"      # sockets, logs, pcaps, OVS db (keep short: unix socket path limit 107 chars)
: "${GEN_CPU:=0}"                   # CPU for the traffic generator (both its lcores are mapped here)
: "${SW_CPU:=1}"                    # CPU for the switch under test (all of its threads are pinned here)
: "${MEM_MODE:=huge}"               # huge: 2 MB hugepages, --in-memory --single-file-segments; nohuge: --no-huge (memfd)
: "${HUGEPAGES:=1024}"              # number of 2 MB pages setup.sh makes sure are reserved (only ever raised)
: "${FRAME_LEN:=64}"                # L2 frame length in the mbuf (no FCS). 60 = "64 B on the wire incl. FCS"
: "${WARMUP:=3}"                    # seconds of traffic ignored before measuring
: "${DURATION:=10}"                 # seconds measured (one testpmd stats sample per second)
: "${GEN_MEM_MB:=auto}"             # memory of the generator (-m); auto = from the number of flows
: "${OVS_MEM_MB:=512}"              # OVS dpdk-socket-mem (or -m with nohuge)
: "${QUIET_MAX:=15}"                # before each run wait until the machine is <= this % busy ...
: "${QUIET_TIMEOUT:=300}"           # ... for at most this many seconds (then run anyway, flagged)
: "${START_TIMEOUT:=40}"            # seconds to wait for traffic to reach the sink

SOCK_A="$BENCH_DIR/a.sock"          # generator port A (VM 1); switch port 1
SOCK_B="$BENCH_DIR/b.sock"          # generator port B (VM 2); switch port 2
MAC_A=02:00:00:00:00:01
MAC_B=02:00:00:00:00:02
PIDDIR="$BENCH_DIR/pids"
EAL_PREFIX=ivsbench                  # every DPDK --file-prefix used here starts with this

OVS_VSWITCHD_DPDK=${OVS_VSWITCHD_DPDK:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# EAL memory flags for a DPDK process that must share its memory over vhost-user.
# virtio-user needs the memory as few fd-backed regions (vhost-user allows 8):
#  - hugepages: --single-file-segments is REQUIRED (else "Too many memory regions");
#    --in-memory avoids leaving files in /dev/hugepages.
#  - --no-huge works too (DPDK backs it with memfd), slower (4 KB pages).
eal_mem_flags() {  # $1 = MB
    if [ "$MEM_MODE" = nohuge ]; then
        echo "--no-huge -m $1"
    else
        echo "--in-memory --single-file-segments -m $1"
    fi
}

# bench_begin SYSTEM...: run as root, the binaries those systems need, and this benchmark
# folder's lock (fd 9 of the calling shell, released when it exits).
bench_begin() {
    [ "$(id -u)" = 0 ] || die "run as root (hugepages, vhost sockets, taskset)"
    case " $* " in *ovs-dpdk*) NEED_OVS=1 ;; esac
    need_bins
    mkdir -p "$BENCH_DIR"
    exec 9>"$BENCH_DIR/.lock"
    flock -n 9 || die "another benchmark is running in $BENCH_DIR"
}

need_bins() {
    local b missing=0
    for b in dpdk-testpmd python3 taskset ${NEED_OVS:+ovsdb-tool ovsdb-server ovs-vsctl ovs-appctl ovs-ofctl "$OVS_VSWITCHD_DPDK"}; do
        command -v "$b" >/dev/null 2>&1 || { log "missing binary: $b"; missing=1; }
    done
    [ $missing = 0 ] || die "install: apt-get install -y dpdk openvswitch-switch-dpdk python3 util-linux"
}

# --- process bookkeeping ----------------------------------------------------
# spawn NAME CMD...  : start CMD in its own session, stdout/err to $RUN_DIR/NAME.log, PID to $PIDDIR/NAME.pid
spawn() {
    local name=$1; shift
    mkdir -p "$PIDDIR"
    setsid "$@" >"$RUN_DIR/$name.log" 2>&1 </dev/null 9>&- &
    echo $! >"$PIDDIR/$name.pid"
}

# stop_pidfile FILE : SIGINT, then SIGTERM, then SIGKILL that one PID, only if it is still the program we started
stop_pidfile() {
    local f=$1 pid exe i
    [ -f "$f" ] || return 0
    pid=$(cat "$f" 2>/dev/null)
    rm -f "$f"
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 0
    exe=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
    case "$exe" in
        *dpdk-testpmd*|*ovs-vswitchd*|*ovsdb-server*|*ivswitchd*|*${SUT_EXE_MATCH:-@@none@@}*) ;;
        *) log "pid $pid ($exe) is not ours any more, not killing"; return 0 ;;
    esac
    # (testpmd blocked in virtio_user server accept() ignores SIGINT, hence TERM/KILL)
    for sig in INT TERM KILL; do
        kill -s $sig "$pid" 2>/dev/null || return 0
        for i in $(seq 1 25); do [ -d "/proc/$pid" ] || return 0; sleep 0.2; done
    done
}

# remove what DPDK leaves behind for our file prefixes (runtime dirs; hugepage files if a
# process was killed without --in-memory)
clean_dpdk_leftovers() {
    rm -rf /var/run/dpdk/${EAL_PREFIX}_* 2>/dev/null
    rm -f /dev/hugepages/${EAL_PREFIX}_* 2>/dev/null
    return 0
}

stop_all_pids() {
    local f
    [ -d "$PIDDIR" ] || return 0
    # generator first (it is the vhost-user server), then the rest
    stop_pidfile "$PIDDIR/gen.pid"
    for f in "$PIDDIR"/*.pid; do [ -e "$f" ] && stop_pidfile "$f"; done
    return 0
}

# --- hugepages --------------------------------------------------------------
ensure_hugepages() {  # [MB needed free] ; only ever raises vm.nr_hugepages
    [ "$MEM_MODE" = nohuge ] && return 0
    local need_mb=${1:-0}
    if ! grep -q ' /dev/hugepages hugetlbfs' /proc/mounts; then
        mkdir -p /dev/hugepages
        mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages || die "cannot mount hugetlbfs"
    fi
    local cur
    cur=$(cat /proc/sys/vm/nr_hugepages)
    if [ "$cur" -lt "$HUGEPAGES" ]; then
        echo "$HUGEPAGES" >/proc/sys/vm/nr_hugepages
        cur=$(cat /proc/sys/vm/nr_hugepages)
        [ "$cur" -ge "$HUGEPAGES" ] || log "WARNING: only $cur hugepages could be reserved"
    fi
    # other DPDK users of the machine may hold pages: make sure need_mb is actually free
    local free need
    free=$(awk '/HugePages_Free/{print $2}' /proc/meminfo)
    need=$(( (need_mb + 1) / 2 ))
    if [ "$free" -lt "$need" ]; then
        echo $(( cur + need - free )) >/proc/sys/vm/nr_hugepages
        log "raised vm.nr_hugepages to $(cat /proc/sys/vm/nr_hugepages) ($free pages were free, $need needed)"
    fi
}

# --- machine quietness -------------------------------------------------------
cpu_busy_pct() {  # busy % of all CPUs over $1 seconds (includes steal)
    local a b
    a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat); sleep "${1:-2}"
    b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
    echo "$a $b" | awk '{bu=$3-$1; id=$4-$2; printf "%.0f\n", (bu+id>0)?100*bu/(bu+id):0}'
}
# wait until nothing else keeps the CPUs busy (other jobs on this shared machine); echo busy %
wait_quiet() {
    local t=0 b
    while :; do
        b=$(cpu_busy_pct 2)
        [ "$b" -le "$QUIET_MAX" ] && break
        [ "$t" -ge "$QUIET_TIMEOUT" ] && { log "WARNING: machine still ${b}% busy, running anyway"; break; }
        [ "$t" = 0 ] && log "machine ${b}% busy (other jobs?); waiting up to ${QUIET_TIMEOUT}s for <= ${QUIET_MAX}%"
        t=$((t + 2))
    done
    echo "$b"
}
# CPU ticks of the whole machine (incl. hypervisor steal) minus ticks of our processes (PIDs in
# $PIDDIR, all threads): what other jobs took. Counted from /proc/stat, so processes of other jobs
# that start or exit meanwhile are still accounted for.
foreign_ticks() {
    local busy ours=0 p t
    busy=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat)
    for p in $(cat "$PIDDIR"/*.pid 2>/dev/null); do
        t=$(awk '{sub(/^.*\) /, ""); print $12+$13}' "/proc/$p/stat" 2>/dev/null) && ours=$((ours + t))
    done
    echo $((busy - ours))
}

# --- pcaps ------------------------------------------------------------------
# PCAP_DST_MAC: destination MAC of the frames (default MAC_B: switched to port B; the
# routed cases use the switch's gateway MAC GW_MAC_A, and the dst IP 10.1.0.1 is then in
# network B).
GW_MAC_A=02:00:00:00:00:fe
pcap_for() {  # $1 = number of flows -> path (created if missing)
    local dmac=${PCAP_DST_MAC:-$MAC_B}
    local p="$BENCH_DIR/pcap/flows-$1-len$FRAME_LEN-${dmac//:/}.pcap"
    if [ ! -s "$p" ]; then
        mkdir -p "$BENCH_DIR/pcap"
        python3 "$BENCH_SRC/mkpcap.py" "$p.tmp" "$1" "$FRAME_LEN" "$MAC_A" "$dmac" && mv "$p.tmp" "$p"
    fi
    echo "$p"
}

# --- generator --------------------------------------------------------------
# One testpmd, one forwarding lcore, io mode, 4 ports, paired topology:
#   P0 net_pcap (infinite replay of the pcap, from memory)  -> P1 virtio_user0 = port A (to switch port 1)
#   P2 virtio_user1 = port B (from switch port 2)            -> P3 net_null (discard)
# So the generator sends only on A and counts what arrives on B (port 2 RX = sink).
# virtio_user is the vhost-user SERVER (server=1): the switch connects as a vhost-user client,
# like OVS dpdkvhostuserclient ports towards QEMU. NB: with server=1 testpmd blocks in
# device probe until a client connects on a.sock, then b.sock.
gen_start() {  # $1 = pcap
    local pcap=$1 nflows nmbuf
    nflows=$(( ($(stat -c %s "$pcap") - 24) / (16 + FRAME_LEN) ))
    nmbuf=$(( nflows + 32768 ))
    local mem=$GEN_MEM_MB
    [ "$mem" = auto ] && mem=$(( 256 + nmbuf * 2560 / 1048576 ))
    rm -f "$SOCK_A" "$SOCK_B"
    # taskset too, so that DPDK control threads (eal-intr, vhost, telemetry) stay on GEN_CPU
    # shellcheck disable=SC2046
    spawn gen taskset -c "$GEN_CPU" dpdk-testpmd --lcores="0@$GEN_CPU,1@$GEN_CPU" $(eal_mem_flags "$mem") \
        --no-pci --file-prefix="${EAL_PREFIX}_gen" \
        --vdev "net_pcap0,rx_pcap=$pcap,infinite_rx=1" \
        --vdev "net_virtio_user0,path=$SOCK_A,queues=1,queue_size=1024,server=1,mac=$MAC_A" \
        --vdev "net_virtio_user1,path=$SOCK_B,queues=1,queue_size=1024,server=1,mac=$MAC_B" \
        --vdev "net_null0,no-rx=1" \
        -- --forward-mode=io --nb-cores=1 --no-flush-rx --stats-period=1 \
        --total-num-mbufs="$nmbuf" --burst=32
    # wait for the server socket to appear
    local i
    for i in $(seq 1 100); do [ -S "$SOCK_A" ] && return 0; sleep 0.1; done
    die "generator did not create $SOCK_A (see $RUN_DIR/gen.log)"
}

# Per-second Rx-pps samples of generator port 2 (= sink), one per line.
gen_sink_samples() {
    awk '/statistics for port/{p=$(NF-1)} /Rx-pps:/{ if (p==2) print $2 }' "$RUN_DIR/gen.log"
}

# wait until the sink has seen traffic for 1 sample
gen_wait_traffic() {
    local i
    for i in $(seq 1 "$START_TIMEOUT"); do
        if gen_sink_samples | awk '$1>0{f=1} END{exit !f}'; then return 0; fi
        [ -d "/proc/$(cat "$PIDDIR/gen.pid" 2>/dev/null || echo 0)" ] || die "generator died, see $RUN_DIR/gen.log"
        sleep 1
    done
    return 1
}

# After gen_wait_traffic: sleep WARMUP, run hook $1 (e.g. clear switch counters), sleep DURATION,
# print "MPPS FOREIGN%": mean sink Mpps over the DURATION window, and the CPU % (of the whole
# machine) used meanwhile by processes other than ours (other jobs disturbing the run).
gen_measure() {
    local start f0 f1 hz
    start=$(gen_sink_samples | wc -l)
    sleep "$WARMUP"
    [ -n "${1:-}" ] && "$1" >/dev/null 2>&1
    # PERF_SECONDS=N: a CPU profile of the switch's CPU over the first N s of the measured
    # window, to $RUN_DIR/perf.data (perf's own CPU counts as "foreign": profile runs are
    # for the profile, not the figures)
    [ -n "${PERF_SECONDS:-}" ] && perf record -q -C "$SW_CPU" -o "$RUN_DIR/perf.data" -- sleep "$PERF_SECONDS" >/dev/null 2>&1 &
    f0=$(foreign_ticks)
    sleep $(( DURATION + 1 ))
    f1=$(foreign_ticks)
    hz=$(getconf CLK_TCK)
    gen_sink_samples | tail -n +$(( start + WARMUP + 1 )) | head -n "$DURATION" |
        awk -v fd=$(( f1 - f0 )) -v hz="$hz" -v d=$(( DURATION + 1 )) -v nc="$(nproc)" \
            '{s+=$1; n++} END{ printf "%.3f %.0f\n", (n? s/n/1e6 : 0), 100*fd/(hz*d*nc) }'
}

# --- stats ------------------------------------------------------------------
# stdin: numbers; prints "min median max n"
stats3() {
    sort -g | awk '{a[NR]=$1} END{ if (NR==0) {print "nan nan nan 0"; exit}
        m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2;
        printf "%.3f %.3f %.3f %d\n", a[1], m, a[NR], NR }'
}
