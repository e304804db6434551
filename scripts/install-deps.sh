#!/usr/bin/env bash
# Installs everything ivswitch needs to build, test, run the demo and the benchmark, from
# Debian 12's packages. Idempotent; skips apt-get when everything is already there.
set -eu
PKGS=(
  # build
  cmake ninja-build g++ pkg-config
  # the fuzz preset (tests/fuzz): clang 19 and its libFuzzer/sanitizer runtimes (clang 14
  # cannot compile libstdc++ 12's <expected>: docs/fuzzing.md); llvm-19 for llvm-symbolizer
  clang-19 libclang-rt-19-dev llvm-19
  # libraries (DESIGN.md ground rule 1: Debian-packaged, made for the field)
  dpdk dpdk-dev libdpdk-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libcpp-httplib-dev libpcap-dev libgtest-dev libgmock-dev libbenchmark-dev
  # systemd readiness/watchdog/journal (sd_notify), man pages (scdoc -> roff)
  libsystemd-dev scdoc
  # ivctl top's screen (ncurses; docs/operations.md says why not FTXUI)
  libncurses-dev
  # tests, demo, benchmark: namespaces, traffic, judges, the OVS-DPDK anchor
  iproute2 iputils-ping iperf3 ethtool nftables tshark tcpdump curl python3 util-linux procps
  # ivctl top judged in a real terminal (tests/integration/top_test.sh); /metrics judged by
  # promtool and a real Prometheus (prometheus_test.sh starts its own, not the service)
  tmux prometheus
  # arping (tests/integration/ethertypes_test.sh: ARP frames counted against those sent)
  iputils-arping
  # flow records (tests/integration/flowexport_test.sh): nfcapd/nfdump, a real IPFIX collector
  nfdump
  # bench/blackbox/callgrind.sh: the datapath's work per burst counted, not timed (and
  # valgrind/callgrind.h, the harness's window markers)
  valgrind
  openvswitch-switch-dpdk
  # real VMs (tests/vm): QEMU; the guest is built from Debian packages with dpkg -x,
  # readelf (binutils), modinfo (kmod), xz
  qemu-system-x86 binutils kmod xz-utils
  # libvirt guests (tests/vm/libvirt_test.sh): the daemon, its QEMU driver and virsh, without
  # libvirt-daemon-system (no service, no libvirt-qemu user, no AppArmor profiles: the test
  # starts its own libvirtd; these three ship no systemd unit or init script)
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
  # the package and the service (tests/packaging): dpkg-buildpackage with debhelper,
  # lintian, a fresh root by debootstrap, systemd-analyze, man, bash completion
  debhelper dpkg-dev lintian debootstrap systemd man-db bash-completion
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "install-deps: need root to apt-get install: ${missing[*]}" >&2; exit 1; }
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no, non-interactively.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  # The package enables a Prometheus service on :9090; the tests start their own on a free
  # loopback port, so a prometheus installed here for them is not left running.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
fi
