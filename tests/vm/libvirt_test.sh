#!/usr/bin/env bash
# A libvirt guest on an ivswitchd vhost-user port (docs/vms.md, "libvirt"): Debian's
# libvirtd, started here (not a system service), defines and starts tests/vm's guest
# (kernel + initrd direct boot, TCG) from a domain XML whose <interface type='vhostuser'>
# is in server mode (QEMU listens; ivswitchd is the client and reconnects), plus a
# namespace "c" on an af_packet port.
#   - QEMU (libvirt-qemu) made the socket in the guests' group: the service's recipe connects;
#   - the guest pings c through the switch;
#   - c's TCP connection to the guest's port 5202 is refused by the policy (the guest
#     listens there: "refused" can only come from the switch);
#   - `virsh destroy`: the port's link goes down in `ivctl show ports`;
#   - `virsh start` again: the link comes up, pings resume (2 ups / 1 down counted).
# The private libvirtd: its own mount namespace (unshare) in which /etc/libvirt,
# /run/libvirt, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt are this test's
# folders, so the machine's libvirt (configuration, domains, sockets) is neither read nor
# written; its socket is reached from outside through that folder. QEMU runs as
# libvirt-qemu (a user of the namespace's passwd copy: libvirt-daemon-system, which makes
# it, is not installed) with no security driver (no AppArmor here), its vhost-user socket
# in a folder made as docs/vms.md says; the test checks that socket's owner and mode, and
# that docs/vms.md's recipe for the service (root without CAP_DAC_OVERRIDE, in the
# guests' group) can connect to it.
# Skipped ("libvirt: SKIPPED: <why>") only when libvirt is not installed or the guest cannot
# boot on this machine (the probe of vm_test.sh); anything else that goes wrong fails.
# usage: libvirt_test.sh BUILD_DIR   env: VM_IMAGE (guest cache, default
#        /var/cache/ivswitch/vm-guest), VM_KEEP=1 keeps the logs folder
set -u
. "$(dirname "$0")/../../scripts/lib/netns_test.sh" libvirt ivl "${1:-}"
. "$HERE/qemu.sh"
VM_DIR=$WORK
: "${VM_IMAGE:=/var/cache/ivswitch/vm-guest}"
LV=$WORK/libvirt DOM="ivs-lv$$" LIBVIRTD_PID=""
LV_URI="qemu:///system?socket=$LV/run/libvirt-sock"
virsh() { command virsh -q -c "$LV_URI" "$@"; }
libvirt_cleanup() {
    if [ -n "$LIBVIRTD_PID" ] && kill -0 "$LIBVIRTD_PID" 2>/dev/null; then
        virsh destroy "$DOM" >/dev/null 2>&1; virsh undefine "$DOM" >/dev/null 2>&1
        kill -TERM "$LIBVIRTD_PID" 2>/dev/null
        local i; for i in $(seq 1 50); do kill -0 "$LIBVIRTD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$LIBVIRTD_PID" 2>/dev/null
    fi
    # A QEMU that libvirt left running (libvirtd killed mid-start): by its pidfile.
    local pid; pid=$(cat "$LV/run/qemu/$DOM.pid" 2>/dev/null)
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    # The mount points this test had to create (empty, so that nothing of libvirt's is left).
    local d; [ -f "$LV/created" ] && while read -r d; do rmdir "$d" 2>/dev/null; done <"$LV/created"
    vm_kill g   # the console's reader (blocked in open() if QEMU never started)
}
trap 'libvirt_cleanup; vm_cleanup; netns_cleanup; [ "${VM_KEEP:-0}" = 1 ] && echo "logs kept in $WORK" || rm -rf "$WORK"' EXIT
skip() { echo "libvirt: SKIPPED: $*"; exit 0; }

command -v libvirtd >/dev/null && command -v virsh >/dev/null &&
    [ -f /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] ||
    skip "libvirt is not installed (scripts/install-deps.sh: libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients)"
why=$(vm_guest_image "$VM_IMAGE") || skip "$why"
why=$(vm_probe 120) || skip "$why"

# --- the switch: the guest's port is in the file at start ----------------------------
# When ports can be added by reload (hot-plug), add_guest_port appends GUEST_PORT to the
# running switch's config and reloads instead, and the port leaves the start's file.
SOCK="$WORK/ctl.sock" VHOST="$WORK/vhost/guest.sock"
MAC_G=02:00:00:00:08:01 MAC_C=02:00:00:00:08:03
GUEST_PORT="  - {name: vmg, type: vhost-user, path: $VHOST, mode: client, network: lan}"
cat >"$WORK/switch.yaml" <<YAML
switch: {instance: $P, control_socket: $SOCK, metrics_address: "127.0.0.1:$((20000 + $$ % 20000))", hugepages: "off"}
ports:
$GUEST_PORT
  - {name: vmc, type: af_packet, interface: $P-c, network: lan}
networks:
  - {name: lan, vlan: 80, subnet: 10.80.0.0/24, gateway: 10.80.0.254}
vms:
  - {name: g, port: vmg, mac: "$MAC_G", ip: 10.80.0.1}
  - {name: c, port: vmc, mac: "$MAC_C", ip: 10.80.0.3}
policy:
  default: drop
  rules:
    - {name: ping, protocol: icmp, action: allow}
    - {name: iperf, protocol: tcp, ports: [5201], action: allow}
    - {name: no-5202, protocol: tcp, ports: [5202], action: reject}
YAML
add_guest_port() { ivctl show ports | grep -E '^(PORT|vmg) '; }
netns_vm c "$MAC_C" 10.80.0.3/24
ivctl() { "$BUILD/ivctl" --socket "$SOCK" "$@"; }
port_field() {  # PORT FIELD
    ivctl --json show ports | python3 -c 'import json,sys; print([p for p in json.load(sys.stdin)["ports"] if p["name"]==sys.argv[1]][0][sys.argv[2]])' "$1" "$2"
}
wait_link() {  # PORT up|down SECONDS
    local i
    for i in $(seq 1 $(($3 * 5))); do [ "$(port_field "$1" link 2>/dev/null)" = "$2" ] && return 0; sleep 0.2; done
    return 1
}
start_switch "$BUILD/ivswitchd" "$WORK/switch.yaml" "$SOCK" "$WORK/ivswitchd.log" || exit 1

# --- a private libvirtd ----------------------------------------------------------------
T0=$(date +%s)
mkdir -p "$LV"/{etc,run,lib,cache,log}
: >"$LV/created"
for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
    [ -d "$d" ] || { mkdir -p "$d" && echo "$d" >>"$LV/created"; }
done
cat >"$LV/libvirtd.conf" <<EOF
unix_sock_dir = "$LV/run"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$LV/libvirtd.log"
EOF
# QEMU as libvirt-qemu, as on a Debian host, without a security driver, cgroups or a
# private /dev (no AppArmor or systemd here); dynamic_ownership off: libvirt changes the
# owner of no file (the guest image is shared with the VM suite). stdio_handler file: no
# virtlogd to start.
cat >"$LV/etc/qemu.conf" <<EOF
user = "libvirt-qemu"
group = "libvirt-qemu"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
namespaces = [ ]
cgroup_controllers = [ ]
stdio_handler = "file"
EOF
# libvirt-daemon-system, not installed, creates the libvirt-qemu user; the namespace's passwd
# and group have it (the machine's own if it exists); the machine's files are not changed.
cp /etc/passwd "$LV/passwd"; cp /etc/group "$LV/group"
getent passwd libvirt-qemu >/dev/null || echo 'libvirt-qemu:x:64055:64055:libvirt-qemu (libvirt_test.sh):/nonexistent:/usr/sbin/nologin' >>"$LV/passwd"
getent group libvirt-qemu >/dev/null || echo 'libvirt-qemu:x:64055:' >>"$LV/group"
QUID=$(awk -F: '$1=="libvirt-qemu"{print $3}' "$LV/passwd") QGID=$(awk -F: '$1=="libvirt-qemu"{print $3}' "$LV/group")
# The sockets' folder of docs/vms.md (/run/ivswitch-vhost there): the guests' group, setgid,
# 2770. QEMU (libvirt-qemu) reaches the test's folder, and its console fifos are its own.
chmod 0711 "$WORK"
mkdir "$WORK/vhost"; chown "$QUID:$QGID" "$WORK/vhost"; chmod 2770 "$WORK/vhost"
unshare --mount --propagation private sh -c '
    lv=$1; shift
    mount --bind "$lv/passwd" /etc/passwd && mount --bind "$lv/group" /etc/group &&
    mount --bind "$lv/etc" /etc/libvirt && mount --bind "$lv/run" /run/libvirt &&
    mount --bind "$lv/lib" /var/lib/libvirt && mount --bind "$lv/cache" /var/cache/libvirt &&
    mount --bind "$lv/log" /var/log/libvirt && exec "$@"' sh "$LV" \
    libvirtd --config "$LV/libvirtd.conf" --pid-file "$LV/libvirtd.pid" >"$LV/libvirtd.stderr" 2>&1 &
LIBVIRTD_PID=$!
libvirtd_up() {
    local i
    for i in $(seq 1 300); do
        virsh version >"$WORK/virsh-version.txt" 2>&1 && { cat "$WORK/virsh-version.txt"; return 0; }
        kill -0 "$LIBVIRTD_PID" 2>/dev/null || break
        sleep 0.2
    done
    echo "libvirtd did not answer on $LV/run/libvirt-sock:"; tail -n 5 "$LV/libvirtd.stderr" "$LV/libvirtd.log" "$WORK/virsh-version.txt"
    return 1
}
check "a private libvirtd (its own mount namespace and folders) answers virsh on its own socket" libvirtd_up
[ "$FAIL" = 0 ] || { summary libvirt; exit 1; }   # nothing below can run without it

# --- the domain: docs/vms.md's XML, with tests/vm's guest ------------------------------
KERNEL=$VM_IMAGE/vmlinux; [ -f "$KERNEL" ] || KERNEL=$VM_IMAGE/vmlinuz
cat >"$WORK/domain.xml" <<XML
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$DOM</name>
  <memory unit='MiB'>$VM_MEM_MB</memory>
  <vcpu>1</vcpu>
  <memoryBacking>
    <source type='memfd'/>
    <access mode='shared'/>
  </memoryBacking>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$KERNEL</kernel>
    <initrd>$VM_IMAGE/initrd.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet no_timer_check ivs.ip=10.80.0.1/24 ivs.timeout=${VM_TIMEOUT:-900}</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <interface type='vhostuser'>
      <mac address='$MAC_G'/>
      <source type='unix' path='$VHOST' mode='server'/>
      <model type='virtio'/>
      <rom enabled='no'/>
    </interface>
    <serial type='pipe'>
      <source path='$WORK/g'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
  <!-- tests only: MSI-X off (QEMU 7.2 + TCG + vhost-user + MSI-X segfaults, tests/vm/qemu.sh) -->
  <qemu:override>
    <qemu:device alias='net0'>
      <qemu:frontend>
        <qemu:property name='vectors' type='unsigned' value='0'/>
      </qemu:frontend>
    </qemu:device>
  </qemu:override>
</domain>
XML
defined() { virsh define "$WORK/domain.xml" && virsh dominfo "$DOM" | grep -E '^(Name|State)'; }
check "virsh define: the guest's domain (vhostuser interface, server mode; memfd, shared)" defined

guest_start() {  # what `virsh start` does here, with the console ready before QEMU opens it
    vm_kill g
    vm_console g
    chown "$QUID:$QGID" "$WORK/g.in" "$WORK/g.out"
    vm_adopt g ""   # listed before QEMU runs: the console's reader is stopped at exit whatever happens
    # QEMU (the vhost-user server) holds the guest, and virsh start returns, only once
    # the switch has connected: the port must be in the switch before this.
    timeout 90 virsh -q -c "$LV_URI" start "$DOM" || { echo "virsh start failed or did not return in 90 s"; return 1; }
    local pid; pid=$(cat "$LV/run/qemu/$DOM.pid" 2>/dev/null)
    [ -n "$pid" ] || { echo "no pidfile for $DOM"; return 1; }
    VM_PID_g=$pid
}
add_guest_port >/dev/null
started() {
    guest_start || return 1
    vm_wait_ready g 120 || return 1
    wait_link vmg up 30 || { echo "vmg not up"; ivctl show ports; return 1; }
    echo "guest ready and vmg up $(( $(date +%s) - T0 )) s after libvirtd's start (accel tcg)"
    ivctl show ports | grep -E '^(PORT|vmg) '
}
check "virsh start: the guest boots, ivswitchd (vhost-user client) connects, vmg link up" started

# docs/vms.md's recipe for the packaged service (root without CAP_DAC_OVERRIDE, in group
# libvirt-qemu): QEMU made the socket group-writable in the folder's group; root without
# the DAC capabilities connects with that group and is refused without it.
socket_perms() {
    local t='import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print("connected")'
    stat -c 'socket %n: uid %u gid %g mode %a' "$VHOST"
    [ "$(stat -c '%u:%g' "$VHOST")" = "$QUID:$QGID" ] && [ $(( 0$(stat -c '%a' "$VHOST") & 020 )) != 0 ] || return 1
    echo -n "root without CAP_DAC_OVERRIDE, in group libvirt-qemu: "
    setpriv --bounding-set=-dac_override,-dac_read_search --groups="$QGID" python3 -c "$t" "$VHOST" 2>&1 | tail -1 | grep connected || return 1
    echo -n "the same without the group: "
    setpriv --bounding-set=-dac_override,-dac_read_search --clear-groups python3 -c "$t" "$VHOST" 2>&1 | tail -1 | grep 'Permission denied'
}
check "QEMU (user libvirt-qemu) made the socket group-writable in the folder's group: the switch's recipe connects" socket_perms

ping_gc() {  # COUNT MIN_REPLIES
    vm_run g 60 "ping -c $1 -i 0.2 -W 2 10.80.0.3" | tee "$WORK/ping.txt"
    local got; got=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' "$WORK/ping.txt")
    [ "${got:-0}" -ge "$2" ]
}
check "ping guest -> c through the switch (10 pings, at least 9 answered)" ping_gc 10 9
refused_5202() {
    in_vm c iperf3 -c 10.80.0.1 -p 5202 -t 1 --connect-timeout 3000 >"$WORK/5202.txt" 2>&1; local rc=$?
    cat "$WORK/5202.txt"
    [ "$rc" != 0 ] && grep -qi 'refused' "$WORK/5202.txt" &&
        ivctl show flows | tee "$WORK/flows.txt" | grep -E '10\.80\.0\.1:5202 .*rejected +no-5202' >/dev/null
}
check "TCP c -> guest:5202 refused by policy rule no-5202 (the guest listens on 5202)" refused_5202

destroyed() {
    virsh destroy "$DOM" || return 1
    virsh domstate "$DOM" | grep -qx 'shut off' || { echo "domain not shut off"; return 1; }
    wait_link vmg down 10 || { echo "vmg still up"; return 1; }
    ivctl show ports | grep -E '^(PORT|vmg) '
    [ "$(port_field vmg link_downs)" = 1 ]
}
check "virsh destroy: vmg link down in show ports (1 down counted)" destroyed

T1=$(date +%s)
restarted() {
    guest_start || return 1
    vm_wait_ready g 120 || return 1
    wait_link vmg up 30 || { echo "vmg not up again"; return 1; }
    echo "guest back after $(( $(date +%s) - T1 )) s"
    ping_gc 10 9 || return 1
    ivctl show ports | grep -E '^(PORT|vmg) '
    [ "$(port_field vmg link_ups)" = 2 ] && [ "$(port_field vmg link_downs)" = 1 ]
}
check "virsh start again: vmg up, pings resume, show ports counts vmg 2 ups / 1 down" restarted
summary libvirt
