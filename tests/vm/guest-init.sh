#!/bin/sh
# /init of the test guest (packed into the initramfs by build-guest.sh): a stock Debian
# kernel, busybox and iperf3. It brings eth0 up, starts two iperf3 servers (5201, and 5202
# for a connection the switch's policy refuses), prints IVS-READY and then runs shell
# commands read from the serial console, one per line, so a test can drive the guest
# while it lives (tests/vm/qemu.sh: vm_run). Kernel command line:
#   ivs.ip=ADDR/LEN     eth0's address (required)
#   ivs.gw=ADDR         default route (optional)
#   ivs.timeout=S       power off after S seconds whatever happens (default 900): a
#                       guest never outlives a test that lost track of it
# Adapted from the team's reference harness (../shared/harness/vm/guest-init.sh).
/bin/busybox mkdir -p /proc /sys /dev /tmp /usr/bin /usr/sbin /sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
exec </dev/console >/dev/console 2>&1

arg() {  # arg NAME DEFAULT
  v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^ivs\.$1=//p" | tail -1)
  echo "${v:-$2}"
}
IP=$(arg ip ""); GW=$(arg gw ""); TIMEOUT=$(arg timeout 900)
echo "IVS-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime)"
( sleep "$TIMEOUT"; echo "IVS-TIMEOUT after ${TIMEOUT}s"; poweroff -f ) &

for m in $(cat /etc/ivs-modules); do insmod "/lib/modules/$m.ko" || echo "IVS-WARN insmod $m failed"; done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /sys/class/net/eth0 ] || { echo "IVS-ERROR no eth0"; poweroff -f; }
ip link set lo up
iperf3 -s -D -p 5201
iperf3 -s -D -p 5202
ip link set eth0 up
[ -n "$IP" ] && ip addr add "$IP" dev eth0
[ -n "$GW" ] && ip route add default via "$GW"
echo "IVS-READY ip=$IP mac=$(cat /sys/class/net/eth0/address) uptime=$(cut -d' ' -f1 /proc/uptime)"

# The console is the command channel: no echo of what the host writes, no \r added.
stty -echo -onlcr 2>/dev/null
while read -r line; do eval "$line"; done
echo "IVS-CONSOLE-CLOSED"
poweroff -f
