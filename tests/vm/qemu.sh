# shellcheck shell=bash
# QEMU guests on vhost-user for the VM test and the demo's --vms option. Sourced.
#
#   vm_guest_image DIR          build the guest (build-guest.sh) into DIR unless it is
#                               there; prints why on failure (no QEMU, no package lists)
#   vm_probe SECONDS            can this machine boot the guest at all? One guest without
#                               a NIC (no switch involved) must reach its init; prints why not
#   vm_boot NAME SOCK MAC IP/LEN
#                               boot guest NAME with one virtio-net NIC on vhost-user
#                               socket SOCK; QEMU is the vhost-user *server* (it creates
#                               SOCK, the switch connects in client mode and reconnects);
#                               serial console log in $VM_DIR/NAME.serial
#   vm_wait_ready NAME SECONDS  until the guest printed IVS-READY
#   vm_run NAME SECONDS CMD     run CMD (a shell line) in the guest; prints its output,
#                               returns its status (124: did not finish in time; 125: the
#                               guest is not running)
#   vm_console NAME             the console's fifos and reader alone (vm_boot calls it; a
#                               libvirt guest's <serial type='pipe'> opens the same pair)
#   vm_adopt NAME PID           drive a guest whose QEMU libvirt started (vm_run, vm_kill)
#   vm_kill NAME                SIGKILL the guest's QEMU: the VM disappears at once
#   vm_cleanup                  stop every guest started here (by PID) and its files
#
# Needs VM_DIR (a scratch folder) and VM_IMAGE (build-guest.sh's output folder); VM_CPU,
# when set, pins the guests to that CPU (the benchmark keeps them off the switch's CPU);
# VM_NET_OPTS adds ",key=value" options to the virtio-net device (e.g. offloads off).
# Under TCG (the default, see ../shared/harness/vm/README.md for why KVM is not used on
# PVM hosts) a guest boots in 5-20 s on a 2-core machine. MSI-X is off (QEMU 7.2 + TCG +
# vhost-user + MSI-X segfaults); guest RAM is a shared memfd (vhost-user needs shared
# memory; no hugepages taken from the machine's pool).

VM_NAMES=()
: "${VM_MEM_MB:=128}"
: "${VM_ACCEL:=tcg}"

vm_guest_image() {
    local dir=$1 here
    here=$(dirname "${BASH_SOURCE[0]}")
    command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; return 1; }
    [ -f "$dir/initrd.gz" ] && [ -f "$dir/vmlinuz" ] && [ "$dir/initrd.gz" -nt "$here/guest-init.sh" ] &&
        [ "$dir/initrd.gz" -nt "$here/build-guest.sh" ] && return 0
    # Built aside and moved into place: a run that starts meanwhile never sees half an image.
    local tmp="$dir.new.$$"
    rm -rf "$tmp"; mkdir -p "$dir/debs"
    bash "$here/build-guest.sh" "$tmp" "${VM_DEB_DIR:-$dir/debs}" >"$VM_DIR/build-guest.log" 2>&1 ||
        { rm -rf "$tmp"; echo "cannot build the guest image from Debian packages: $(tail -1 "$VM_DIR/build-guest.log")"; return 1; }
    local f
    for f in vmlinuz vmlinux initrd.gz config guest-info.txt; do [ -f "$tmp/$f" ] && mv -f "$tmp/$f" "$dir/$f"; done
    rm -rf "$tmp"
}

vm_probe() {  # SECONDS
    vm_boot probe "" 02:00:00:00:ff:ff 192.0.2.1/24
    local i pid; pid=$(vm_pid probe)
    for i in $(seq 1 $(($1 * 5))); do
        grep -q '^IVS-BOOTED' "$VM_DIR/probe.serial" 2>/dev/null && { vm_kill probe; return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    echo "a guest without a NIC did not reach its init in $1 s ($VM_ACCEL): $(tail -2 "$VM_DIR/probe.stderr" "$VM_DIR/probe.serial" 2>/dev/null | tr '\n' ' ')"
    vm_kill probe
    return 1
}

vm_boot() {
    local n=$1 sock=$2 mac=$3 ip=$4 kernel=$VM_IMAGE/vmlinux cpu=qemu64 accel=(-accel tcg)
    [ -f "$kernel" ] || kernel=$VM_IMAGE/vmlinuz
    [ "$VM_ACCEL" = kvm ] && { accel=(-accel kvm); cpu=host; }
    local nic=(-nic none)
    [ -n "$sock" ] && nic=(-chardev "socket,id=c0,path=$sock,server=on,wait=off" -netdev type=vhost-user,id=n0,chardev=c0
                           -device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,vectors=0${VM_NET_OPTS:-}")
    vm_console "$n"
    ${VM_CPU:+taskset -c "$VM_CPU"} qemu-system-x86_64 -name "ivs-$n" -nodefaults -no-user-config -display none -no-reboot \
        "${accel[@]}" -cpu "$cpu" -smp 1 -m "${VM_MEM_MB}M" \
        -object "memory-backend-memfd,id=mem,size=${VM_MEM_MB}M,share=on" -numa node,memdev=mem \
        "${nic[@]}" \
        -chardev "pipe,id=con,path=$VM_DIR/$n" -serial chardev:con \
        -kernel "$kernel" -initrd "$VM_IMAGE/initrd.gz" \
        -append "console=ttyS0 panic=-1 quiet no_timer_check ivs.ip=$ip ivs.timeout=${VM_TIMEOUT:-900}" \
        </dev/null >"$VM_DIR/$n.stderr" 2>&1 &
    eval "VM_PID_$n=$!"
    VM_NAMES+=("$n")
}

vm_console() {  # NAME: the serial console's fifo pair $VM_DIR/NAME.in/.out (QEMU's pipe chardev)
    local n=$1
    rm -f "$VM_DIR/$n.in" "$VM_DIR/$n.out"
    mkfifo "$VM_DIR/$n.in" "$VM_DIR/$n.out"
    : >"$VM_DIR/$n.serial"   # a rebooted guest starts a fresh log: no marker of its last life
    # The console's output is read all the time (QEMU opens both fifos read-write, so
    # neither side blocks); the reader ends when QEMU does.
    cat "$VM_DIR/$n.out" >>"$VM_DIR/$n.serial" 2>/dev/null &
    eval "VM_CAT_$n=$!"
    # Held open read-write here too: writing a command never blocks, even with QEMU gone.
    local fd
    exec {fd}<>"$VM_DIR/$n.in"
    eval "VM_FD_$n=$fd"
}

vm_adopt() {  # NAME PID: a guest whose QEMU another program started (libvirt), driven as ours
    eval "VM_PID_$1=$2"
    VM_NAMES+=("$1")
}

vm_pid() { eval "echo \${VM_PID_$1:-}"; }

vm_wait_ready() {  # NAME SECONDS
    local n=$1 i pid
    pid=$(vm_pid "$n")
    for i in $(seq 1 $(($2 * 5))); do
        grep -q '^IVS-READY' "$VM_DIR/$n.serial" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { echo "guest $n: QEMU exited:"; tail -5 "$VM_DIR/$n.stderr" "$VM_DIR/$n.serial"; return 1; }
        sleep 0.2
    done
    echo "guest $n: not ready after $2 s; console:"; tail -5 "$VM_DIR/$n.serial"; return 1
}

vm_run() {  # NAME SECONDS CMD
    local n=$1 t=$2 tag i rc
    shift 2
    # Unique per call without shared state (vm_run often runs in a pipeline's subshell).
    tag="IVSCMD$(date +%s%N)"
    # One line: markers around the output, the command's status in the end marker.
    local pid end
    pid=$(vm_pid "$n")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || { echo "guest $n is not running"; return 125; }
    # The end marker closes with the tag again: a line read while still arriving never matches.
    printf '%s\n' "echo $tag-BEGIN; { $*; } </dev/null 2>&1; echo $tag-END rc=\$? $tag-EOL" >"$VM_DIR/$n.in"
    end="^$tag-END rc=[0-9]+ $tag-EOL\$"
    for i in $(seq 1 $((t * 10))); do
        if grep -qE "$end" "$VM_DIR/$n.serial" 2>/dev/null; then
            sed -n "/^$tag-BEGIN\$/,/^$tag-END /p" "$VM_DIR/$n.serial" | sed '1d;$d'
            rc=$(sed -nE "s/^$tag-END rc=([0-9]+) $tag-EOL\$/\1/p" "$VM_DIR/$n.serial")
            return "${rc:-1}"
        fi
        kill -0 "$pid" 2>/dev/null || { echo "guest $n: QEMU exited during '$*'"; return 125; }
        sleep 0.1
    done
    echo "guest $n: '$*' did not finish in $t s"
    return 124
}

vm_kill() {
    local n=$1 pid
    pid=$(vm_pid "$n")
    [ -n "$pid" ] && { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
    eval "VM_PID_$n="
    pid=$(eval "echo \${VM_CAT_$n:-}"); [ -n "$pid" ] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
    eval "VM_CAT_$n="
    local fd; fd=$(eval "echo \${VM_FD_$n:-}")
    [ -n "$fd" ] && exec {fd}>&-
    eval "VM_FD_$n="
    return 0
}

vm_cleanup() {
    local n pid i
    for n in "${VM_NAMES[@]}"; do
        pid=$(vm_pid "$n"); [ -n "$pid" ] || continue
        kill -TERM "$pid" 2>/dev/null
        for i in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        vm_kill "$n"
    done
    for n in "${VM_NAMES[@]}"; do vm_kill "$n"; done
    VM_NAMES=()
}
