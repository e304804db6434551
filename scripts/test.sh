#!/usr/bin/env bash
# Runs every test of ivswitch: installs what is needed, builds (release and
# ASan+UBSan), then runs
#   layering     scripts/check-layers.sh: the core folders include no more job or config
#                headers than recorded (issue 17), and its self-test (run first, no build);
#                scripts/check-areas.py: every include within its area's declared
#                dependencies (cmake/areas.cmake; the build runs it too), and its self-test
#                (a forbidden include, a declared cycle, one include over an exception)
#   unit         GoogleTest (parser, config, tables, forwarder on real mbufs; the
#                trace-equals-datapath layer: generated topologies, seeded, IVS_TRACE_SEED
#                repeats a run; the autovalidator catching a broken cache) release + asan
#   packet       the daemon on pcap ports: input pcap -> expected pcap, counters release + asan
#   hostile      the control socket, /metrics, the channel socket against hostile input release + asan
#   fuzz         libFuzzer targets (tests/fuzz), 20 s each over their corpus      fuzz (clang, ASan+UBSan)
#   integration  namespaces + veth (af_packet, af_xdp), ping, iperf3, tshark    release
#   policy       namespaces: allowed/rejected/dropped flows, reload cut/persist release
#   portsec      namespaces: spoofed addresses/MACs/ARP, RA and DHCP guards, flow poisoning release
#   ipv6route    namespaces: ping -6 and iperf3 -6 routed across two networks through gateway6,
#                ND answered and learned, hop limit expiry -> ICMPv6 time exceeded, trace release
#   routes       namespaces: a default route through a router namespace to an "internet" one (ping,
#                TCP), two routers as ECMP next hops: flows spread, each kept on one (tcpdump) release
#   live         namespaces: a VM added, moved and removed by reload, a bad reload refused
#                whole, the untouched VMs' ping and iperf3 lose nothing             release
#   frag         namespaces: ping -s 3000 / UDP in fragments under a policy, jumbo frames release
#   flood        namespaces: a flood of new flows vs a known stream, rate limit  release
#   chain        namespaces: nftables router as inline device, shortcut, failure release
#   qos          namespaces: DSCP enforce/audit judged by tshark, class queues, meter release
#   mirror       namespaces: pcapng/tool-port copies judged by tshark/tcpdump, runtime add/del release
#   broker       namespaces: ERSPAN/VXLAN decoded by tshark, tool groups, dedup, ivctl capture, slow tool release
#   channel      namespaces with a nested ivswitchd + ivagent: host-VM round trips, attacks release
#   top          ivctl top in a tmux pane under iperf3 traffic: rates vs the veths' counters,
#                keys (views, sort), q / Ctrl-C / SIGTERM / daemon killed restore the terminal release
#   prometheus   /metrics linted by promtool, scraped by Debian's prometheus (own config, loopback),
#                a rate queried through its HTTP API                             release
#   vhost        dpdk-testpmd virtio-user ports as VMs over vhost-user           release
#   vm           real QEMU guests on vhost-user: ping, iperf3, policy, guest and switch
#                restarts (skipped, saying why, where guests cannot boot)      release
#   libvirt      the same guest defined and started by a private libvirtd (Debian's, not the
#                service) on a vhost-user port: the socket's owner and mode (QEMU as libvirt-qemu),
#                ping, a refused connection, virsh destroy /
#                start and the port down / up (skipped where guests cannot boot) release
#   packaging    install layout, systemd-analyze verify, sd_notify (fake NOTIFY_SOCKET,
#                watchdog vs a stuck datapath thread), man pages, the .deb (dpkg-buildpackage
#                + lintian) installed into a fresh debootstrap root, ivswitchd run there release
#   bench-smoke  the VM-to-VM benchmark harness, one short run (no figures)      release
#   blackbox-smoke  the black-box harness (bench/blackbox), every case for 1 s: forwarded
#                from the cache, nothing dropped (no figures)                  release
# and prints one line per suite and 'tests: N passed, M failed'. Needs root
# (apt-get, namespaces, vhost sockets). usage: test.sh [--no-asan] [--no-bench] [--no-fuzz]
# Every namespace suite runs its switch with the autovalidator (flow-cache hits checked
# against the policy thread's decision; IVS_AUTOVALIDATOR=0: off) and fails on a mismatch,
# or when its daemons served packets from the flow cache and the autovalidator checked
# none (autovalidator verdict: that judgement on recorded counters, a second).
set -u
cd "$(dirname "$0")/.."
ASAN=1; BENCH=1; FUZZ=1
for a in "$@"; do case $a in --no-asan) ASAN=0 ;; --no-bench) BENCH=0 ;; --no-fuzz) FUZZ=0 ;; *) sed -n '2,/^set -u$/{/^set -u$/!p}' "$0"; exit 2 ;; esac; done
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (namespaces, vhost-user sockets, apt-get)"; exit 2; }
PASS=0; FAIL=0; SKIP=0; SUMMARY=()
SUITE_OUT=$(mktemp /tmp/ivs-suite.XXXXXX); trap 'rm -f "$SUITE_OUT"' EXIT
suite() {  # NAME COMMAND...   (a suite that prints "<name>: SKIPPED: <why>" is counted as skipped)
  local name=$1 rc why; shift
  echo "=== $name"
  "$@" 2>&1 | tee "$SUITE_OUT"; rc=${PIPESTATUS[0]}
  why=$(sed -n 's/^[a-z-]*: SKIPPED: //p' "$SUITE_OUT" | tail -1)
  if [ $rc = 0 ] && [ -n "$why" ]; then SKIP=$((SKIP + 1)); SUMMARY+=("skip $name: $why")
  elif [ $rc = 0 ]; then PASS=$((PASS + 1)); SUMMARY+=("ok   $name")
  else FAIL=$((FAIL + 1)); SUMMARY+=("FAIL $name"); fi
}
suite "layering"              bash scripts/check-layers.sh
suite "layering (self-test)"  bash scripts/check-layers.sh --self-test
./scripts/install-deps.sh || exit 1
# After install-deps: it installs python3.
suite "layering (areas)"      python3 scripts/check-areas.py
suite "layering (areas, self-test)" python3 scripts/check-areas.py --self-test
./scripts/build.sh release || exit 1
if [ $ASAN = 1 ]; then ./scripts/build.sh asan || exit 1; fi
if [ $FUZZ = 1 ]; then ./scripts/build.sh fuzz || exit 1; fi

suite "unit (release)"        ./build/release/tests/ivs_unit_tests
suite "packet (release)"      python3 tests/packet/run.py build/release
if [ $ASAN = 1 ]; then
  # detect_leaks=0: DPDK keeps memory until exit by design; ASan still checks every access.
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  suite "unit (asan+ubsan)"   ./build/asan/tests/ivs_unit_tests
  suite "packet (asan+ubsan)" python3 tests/packet/run.py build/asan
  suite "hostile control (asan+ubsan)" bash tests/integration/hostile_control_test.sh build/asan
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi
suite "hostile control"       bash tests/integration/hostile_control_test.sh build/release
if [ $FUZZ = 1 ]; then
  FUZZ_N=$(ls tests/fuzz/*_fuzz.cpp | wc -l)
  suite "fuzz (libFuzzer, $FUZZ_N targets)" tests/fuzz/run.sh build/fuzz "${FUZZ_SECONDS:-20}"
fi
suite "autovalidator verdict" bash tests/integration/autovalidator_verdict_test.sh
suite "integration (netns)"   bash tests/integration/netns_test.sh build/release
suite "policy (netns)"        bash tests/integration/policy_test.sh build/release
suite "port security (netns)" bash tests/integration/portsec_test.sh build/release
suite "ipv6 routing (netns)"  bash tests/integration/ipv6route_test.sh build/release
suite "static routes (netns)" bash tests/integration/routes_test.sh build/release
suite "live: VMs changed by reload (netns)" bash tests/integration/live_test.sh build/release
suite "frag (netns)"          bash tests/integration/frag_test.sh build/release
suite "flood (netns)"         bash tests/integration/flood_test.sh build/release
suite "chain (netns)"         bash tests/integration/chain_test.sh build/release
suite "qos (netns)"           bash tests/integration/qos_test.sh build/release
suite "mirror (netns)"        bash tests/integration/mirror_test.sh build/release
suite "broker (netns)"        bash tests/integration/broker_test.sh build/release
suite "channel (netns)"       bash tests/integration/channel_test.sh build/release
suite "top (netns, tmux)"     bash tests/integration/top_test.sh build/release
suite "prometheus (netns)"    bash tests/integration/prometheus_test.sh build/release
suite "flow export (netns)"   bash tests/integration/flowexport_test.sh build/release
suite "ethertypes (netns)"    bash tests/integration/ethertypes_test.sh build/release
suite "vhost-user (testpmd)"  bash tests/integration/vhost_test.sh build/release
suite "restart (netns)"       bash tests/integration/restart_test.sh build/release
suite "vm (QEMU guests)"      bash tests/vm/vm_test.sh build/release
suite "libvirt (QEMU guest)"  bash tests/vm/libvirt_test.sh build/release
suite "packaging"             bash tests/packaging/packaging_test.sh build/release
if [ $BENCH = 1 ]; then
  suite "bench smoke" bash bench/vm2vm/smoke.sh build/release
  suite "blackbox smoke" bash bench/blackbox/smoke.sh build/release
fi

echo
printf '%s\n' "${SUMMARY[@]}"
echo "tests: $PASS passed, $FAIL failed$([ $SKIP = 0 ] || echo ", $SKIP skipped")"
[ "$FAIL" = 0 ]
