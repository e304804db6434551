#!/usr/bin/env bash
# Packaging and the systemd service, each judged by the real tool:
#   install     cmake --install into a staging prefix: binaries, man pages, config, unit,
#               bash completion where they belong
#   unit        systemd-analyze verify on the unit (pointed at the staged binary)
#   notify      ivswitchd's sd_notify protocol without systemd: a fake NOTIFY_SOCKET
#               (READY, WATCHDOG cadence, RELOADING, STOPPING, a stuck datapath thread
#               stops the pings; tests/packaging/notify_test.py)
#   man         man -l renders each page without warnings; every ivctl command and show
#               view is in ivctl(8) and the completion; every config key of docs/config.md
#               is in ivswitch.yaml(5)
#   package     dpkg-buildpackage -us -uc -b from a copy of the tree (nocheck, -j2);
#               contents, conffile, the unit enabled but not started; lintian (errors fail)
#   fresh root  debootstrap --variant=minbase bookworm (cached in /var/cache/ivswitch),
#               apt-get install ./ivswitch_*.deb there (runtime dependencies only), then
#               ivswitchd --check on the packaged config, and ivswitchd really running
#               there on pcap/discard ports, answering ivctl show ports and ivctl top --once
# The package is built from BUILD_DIR's compiled tree (debian/rules IVS_DEB_PREBUILT) so
# that the suite does not compile the project a third time; IVS_PKG_FULL=1 makes
# dpkg-buildpackage compile everything itself, as a release build does.
# usage: packaging_test.sh BUILD_DIR       (as root: chroot, mounts)
# env: IVS_PKG_FULL=1, IVS_ROOT_CACHE (default /var/cache/ivswitch), IVS_DEBIAN_MIRROR
# (default: the bookworm mirror in /etc/apt/sources.list*)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build/release}" && pwd) || exit 2
CACHE=${IVS_ROOT_CACHE:-/var/cache/ivswitch}
ROOT_TAR=$CACHE/bookworm-minbase.tar
WORK=$(mktemp -d /tmp/ivs-packaging.XXXXXX)
ROOT=$WORK/root
MOUNTS=()
cleanup() {
    local m
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[i]}" 2>/dev/null; done
    [ -n "${DAEMON_PID:-}" ] && kill "$DAEMON_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. "$SRC/scripts/lib/check.sh"
[ "$(id -u)" = 0 ] || { echo "packaging: run as root (chroot, mounts)"; exit 2; }
for t in dpkg-buildpackage lintian debootstrap systemd-analyze scdoc man; do
    command -v $t >/dev/null || { echo "packaging: $t missing (scripts/install-deps.sh installs it)"; exit 1; }
done
elapsed() { echo $(( $(date +%s) - $1 ))s; }

# ---- install layout -------------------------------------------------------------
STAGE=$WORK/stage
staged() {
    cmake --build "$BUILD" --target ivswitchd ivctl ivagent man >/dev/null || return 1
    cmake --install "$BUILD" --prefix "$STAGE" >/dev/null || return 1
    local f missing=0
    for f in sbin/ivswitchd bin/ivctl bin/ivagent etc/ivswitch/ivswitch.yaml lib/systemd/system/ivswitchd.service \
        share/man/man8/ivswitchd.8 share/man/man8/ivctl.8 share/man/man8/ivagent.8 share/man/man5/ivswitch.yaml.5 \
        share/bash-completion/completions/ivctl share/bash-completion/completions/ivswitchd share/bash-completion/completions/ivagent; do
        if [ -e "$STAGE/$f" ]; then echo "  $f"; else echo "missing: $f"; missing=1; fi
    done
    for f in sbin/ivswitchd bin/ivctl bin/ivagent; do [ -x "$STAGE/$f" ] || { echo "not executable: $f"; missing=1; }; done
    return $missing
}
CHECK_TAIL_OK=13 check "cmake --install: binaries, man pages, config, unit, bash completion in place" staged

unit_verify() {
    sed "s|/usr/sbin/ivswitchd|$STAGE/sbin/ivswitchd|g" "$STAGE/lib/systemd/system/ivswitchd.service" >"$WORK/ivswitchd.service"
    MANPATH=$STAGE/share/man systemd-analyze verify "$WORK/ivswitchd.service" 2>&1 | tee "$WORK/verify.out"
    [ "${PIPESTATUS[0]}" = 0 ] && [ ! -s "$WORK/verify.out" ] && echo "systemd-analyze verify: no findings" &&
        grep -E '^(Type|WatchdogSec|ExecReload|CapabilityBoundingSet|ProtectSystem)=' "$WORK/ivswitchd.service" &&
        systemd-analyze security --offline=yes "$WORK/ivswitchd.service" 2>&1 | grep -i "overall exposure"
}
CHECK_TAIL_OK=7 check "systemd-analyze verify ivswitchd.service (Type=notify, watchdog, reload, sandbox)" unit_verify
config_check() { "$STAGE/sbin/ivswitchd" --check --config "$STAGE/etc/ivswitch/ivswitch.yaml"; }
check "the default config passes ivswitchd --check" config_check

# ---- sd_notify protocol, without systemd ----------------------------------------
CHECK_TAIL_OK=30 check "sd_notify: READY, WATCHDOG cadence, RELOADING, STOPPING; a stuck datapath thread stops the pings" \
    python3 "$HERE/notify_test.py" "$BUILD"

# ---- man pages and completion -----------------------------------------------------
man_render() {
    local p out bad=0
    for p in man8/ivswitchd.8 man8/ivctl.8 man8/ivagent.8 man5/ivswitch.yaml.5; do
        out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$STAGE/share/man/$p" 2>&1 >/dev/null)
        [ -z "$out" ] && echo "$p: renders, no warnings ($(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$STAGE/share/man/$p" 2>/dev/null | wc -l) lines)" ||
            { echo "$p: $out"; bad=1; }
    done
    return $bad
}
check "man -l renders every page without warnings" man_render
# CLI11 help: the subcommands of ivctl and of 'ivctl show', as the code defines them
subcommands() { "$STAGE/bin/ivctl" "$@" --help | sed -n '/^Subcommands:/I,/^$/p' | awk 'NR>1 && NF {print $1}'; }
# ... and a subcommand's long options (its own, not --help)
long_options() { "$STAGE/bin/ivctl" "$@" --help | sed -n '/^Options:/I,/^$/p' | grep -oE -- '(^|[ ,])--[a-z][a-z-]+' | tr -d ' ,' | grep -vx -- --help | sort -u; }
man_covers_cli() {
    local c p missing="" man=$SRC/man/ivctl.8.scd comp=$STAGE/share/bash-completion/completions/ivctl
    for c in $(subcommands); do  # a command: *show* ..., *mirror add* ...
        grep -qE "^\*$c[ *]" "$man" || missing+=" man:$c"; grep -qw -- "$c" "$comp" || missing+=" completion:$c"
    done
    for c in $(subcommands show); do  # a view: *ports*: ...
        grep -q "\*$c\*" "$man" || missing+=" man:show-$c"; grep -qw -- "$c" "$comp" || missing+=" completion:show-$c"
    done
    for p in policy mirror channel flow-export; do
        for c in $(subcommands $p); do
            grep -q "^\*$p $c" "$man" || missing+=" man:$p-$c"; grep -qw -- "$c" "$comp" || missing+=" completion:$p-$c"
        done
    done
    long_options trace | grep -qx -- --live || missing+=" (trace's options not parsed from ivctl trace --help)"
    for c in $(long_options trace); do  # trace's flags (--live, --count, --seconds)
        grep -q -- "\*$c\*" "$man" || missing+=" man:trace$c"; grep -qw -- "$c" "$comp" || missing+=" completion:trace$c"
    done
    echo "ivctl: $(subcommands | tr '\n' ' ')| show: $(subcommands show | tr '\n' ' ')| mirror, channel, policy, flow-export: $(subcommands mirror; subcommands channel; subcommands policy; subcommands flow-export)| trace: $(long_options trace)" | tr '\n' ' '; echo
    [ -z "$missing" ] || { echo "missing:$missing"; return 1; }
    [ "$(subcommands show | wc -l)" -ge 10 ]
}
check "every ivctl command and show view is in ivctl(8) and its bash completion" man_covers_cli
man_covers_config() {
    local k missing="" n=0
    for k in $(sed -n '/^## `switch`/,$p' "$SRC/docs/config.md" | grep -oE '^\| `[a-z_]+`( ?, ?`[a-z_]+`)*' | grep -oE '`[a-z_]+`' | tr -d '`' | sort -u) \
             $(grep -oE '^## `[a-z_]+`' "$SRC/docs/config.md" | tr -d '#` '); do
        n=$((n + 1)); grep -q "\*$k\*" "$SRC/man/ivswitch.yaml.5.scd" || missing+=" $k"
    done
    echo "$n keys and sections of docs/config.md"; [ -z "$missing" ] || { echo "not in ivswitch.yaml(5):$missing"; return 1; }
    [ "$n" -gt 50 ]  # the keys were really found (a changed table layout would find none)
}
check "every config section and key of docs/config.md is in ivswitch.yaml(5)" man_covers_config
completion_works() {
    bash -c '. /usr/share/bash-completion/bash_completion; . "$1"
        COMP_WORDS=(ivctl show p); COMP_CWORD=2; COMP_LINE="ivctl show p"; COMP_POINT=${#COMP_LINE}; _ivctl; echo "ivctl show p<TAB>: ${COMPREPLY[*]}"
        [ "${COMPREPLY[*]}" = "ports pmd policy port-security" ]' _ "$STAGE/share/bash-completion/completions/ivctl"
}
check "bash completion: ivctl show p<TAB> offers the views" completion_works

# ---- the Debian package -------------------------------------------------------------
PKG=$WORK/pkg
build_package() {
    mkdir -p "$PKG/src"
    tar -C "$SRC" --exclude=./build --exclude=./.git --exclude='./obj-*' --exclude=./debian/ivswitch -cf - . | tar -C "$PKG/src" -xf -
    local t0; t0=$(date +%s)
    if [ "${IVS_PKG_FULL:-0}" = 1 ]; then
        (cd "$PKG/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) >"$PKG/build.log" 2>&1 || { tail -30 "$PKG/build.log"; return 1; }
    else
        (cd "$PKG/src" && IVS_DEB_PREBUILT=$BUILD DEB_BUILD_OPTIONS="nocheck noddebs parallel=2" dpkg-buildpackage -us -uc -b) >"$PKG/build.log" 2>&1 || { tail -30 "$PKG/build.log"; return 1; }
    fi
    DEB=$(ls "$PKG"/ivswitch_*.deb)
    echo "$(basename "$DEB"): $(du -k "$DEB" | cut -f1) KiB, built in $(elapsed "$t0") ($([ "${IVS_PKG_FULL:-0}" = 1 ] && echo "full build" || echo "from $BUILD"))"
}
DEB=""
check "dpkg-buildpackage -us -uc -b (debhelper 13, nocheck, -j2)" build_package
[ -n "$DEB" ] || { summary packaging; exit 1; }
package_contents() {
    dpkg-deb -c "$DEB" | awk '{print $6}' >"$WORK/contents"
    dpkg-deb -e "$DEB" "$WORK/control"
    local f missing=0
    for f in ./usr/sbin/ivswitchd ./usr/bin/ivctl ./usr/bin/ivagent ./etc/ivswitch/ivswitch.yaml ./lib/systemd/system/ivswitchd.service \
        ./usr/share/man/man8/ivswitchd.8.gz ./usr/share/man/man8/ivctl.8.gz ./usr/share/man/man8/ivagent.8.gz \
        ./usr/share/man/man5/ivswitch.yaml.5.gz ./usr/share/bash-completion/completions/ivctl ./usr/share/doc/ivswitch/config.md.gz; do
        grep -qx "$f" "$WORK/contents" || { echo "not in the package: $f"; missing=1; }
    done
    echo "conffiles: $(tr '\n' ' ' <"$WORK/control/conffiles")"
    grep -qx /etc/ivswitch/ivswitch.yaml "$WORK/control/conffiles" || missing=1
    echo "Depends: $(dpkg-deb -f "$DEB" Depends | cut -c1-300)..."
    dpkg-deb -f "$DEB" Depends | grep -q libsystemd0 && dpkg-deb -f "$DEB" Depends | grep -q librte-net-af-packet23 || missing=1
    # enabled (deb-systemd-helper enable), never started or restarted by the maintainer scripts
    grep -q "deb-systemd-helper enable 'ivswitchd.service'" "$WORK/control/postinst" || { echo "postinst does not enable the unit"; missing=1; }
    if grep -qE "deb-systemd-invoke (start|restart)" "$WORK/control/postinst"; then echo "postinst starts the unit"; missing=1; fi
    echo "postinst: enables ivswitchd.service, does not start it"
    return $missing
}
CHECK_TAIL_OK=6 check "package: binaries, man pages, docs, the unit; the config a conffile; runtime Depends; enabled, not started" package_contents
run_lintian() {
    lintian --display-info --tag-display-limit 0 "$DEB" >"$WORK/lintian.out" 2>&1; local rc=$?
    cat "$WORK/lintian.out"
    echo "lintian: $(grep -c '^E:' "$WORK/lintian.out") error(s), $(grep -c '^W:' "$WORK/lintian.out") warning(s), $(grep -c '^I:' "$WORK/lintian.out") info(s) (exit $rc)"
    ! grep -q '^E:' "$WORK/lintian.out"
}
CHECK_TAIL_OK=40 check "lintian: no errors" run_lintian

# ---- a fresh Debian 12 root ---------------------------------------------------------
# The mirror apt uses here (deb822 or one-line sources), for debootstrap and the root's apt.
MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1=="deb" && $3 ~ /^bookworm$/ {print $2; exit}')
[ -n "$MIRROR" ] || MIRROR=$(awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ {print u; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null)
SECURITY=$(awk '/^URIs:/ {u=$2} /^Suites:/ && /bookworm-security/ {print u; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null)
: "${MIRROR:=http://deb.debian.org/debian}" "${SECURITY:=http://security.debian.org/debian-security}"
MIRROR=${IVS_DEBIAN_MIRROR:-$MIRROR}  # (an override, e.g. to see the skip: an unreachable address)
mirror_reachable() {
    local hp=${MIRROR#*://}; hp=${hp%%/*}; local port=80; [[ $MIRROR == https* ]] && port=443
    timeout 10 bash -c "exec 3<>/dev/tcp/${hp%%:*}/$port" 2>/dev/null
}
SKIP_WHY=""
if ! mirror_reachable; then
    SKIP_WHY="no route to the Debian mirror $MIRROR: cannot install the package's dependencies into a fresh root"
else
    fresh_root() {
        local t0; t0=$(date +%s)
        if [ ! -s "$ROOT_TAR" ]; then
            mkdir -p "$CACHE"; rm -rf "$CACHE/bookworm-minbase.tmp"
            debootstrap --variant=minbase bookworm "$CACHE/bookworm-minbase.tmp" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
                { tail -20 "$WORK/debootstrap.log"; rm -rf "$CACHE/bookworm-minbase.tmp"; return 1; }
            tar -C "$CACHE/bookworm-minbase.tmp" -cf "$ROOT_TAR.tmp" . && mv "$ROOT_TAR.tmp" "$ROOT_TAR"
            rm -rf "$CACHE/bookworm-minbase.tmp"
            echo "debootstrap --variant=minbase bookworm $MIRROR: $(elapsed "$t0"), cached in $ROOT_TAR"
        else
            echo "debootstrap root from the cache $ROOT_TAR ($(du -m "$ROOT_TAR" | cut -f1) MB)"
        fi
        mkdir -p "$ROOT" && tar -C "$ROOT" -xf "$ROOT_TAR" || return 1
        printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' "$MIRROR" "$MIRROR" "$SECURITY" >"$ROOT/etc/apt/sources.list"
        cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
        mount -t proc proc "$ROOT/proc" && MOUNTS+=("$ROOT/proc")
        echo "fresh root ready in $(elapsed "$t0")"
    }
    check "a fresh Debian 12 root (debootstrap minbase, cached)" fresh_root
    install_deb() {
        local t0; t0=$(date +%s)
        chroot "$ROOT" dpkg-query -W -f '${Package}\n' | sort >"$WORK/before"
        cp "$DEB" "$ROOT/tmp/" || return 1
        chroot "$ROOT" apt-get update -q >"$WORK/apt.log" 2>&1 || { tail "$WORK/apt.log"; return 1; }
        chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/tmp/$(basename "$DEB")" >>"$WORK/apt.log" 2>&1 ||
            { tail -20 "$WORK/apt.log"; return 1; }
        chroot "$ROOT" dpkg-query -W -f '${Package}\n' | sort >"$WORK/after"
        local new; new=$(comm -13 "$WORK/before" "$WORK/after")
        echo "apt-get install ./$(basename "$DEB"): $(echo "$new" | wc -l) packages in $(elapsed "$t0"):"
        echo "$new" | tr '\n' ' ' | fold -s -w 110; echo
        # runtime only: no headers, compilers or build tools came with it
        if echo "$new" | grep -E -- '-dev$|^(cmake|ninja-build|g\+\+.*|gcc.*|cpp.*|scdoc|debhelper)$'; then echo "build dependencies came in (above)"; return 1; fi
    }
    CHECK_TAIL_OK=10 check "apt-get install ./ivswitch_*.deb in the fresh root: runtime dependencies only" install_deb
    in_root_check() {
        chroot "$ROOT" ivswitchd --check --config /etc/ivswitch/ivswitch.yaml | tee "$WORK/check.out"
        grep -q ": OK" "$WORK/check.out"
    }
    check "in the fresh root: ivswitchd --check --config /etc/ivswitch/ivswitch.yaml says OK" in_root_check
    in_root_files() {
        local ok=0
        chroot "$ROOT" dpkg -L ivswitch | grep -E 'man[58]/.*\.gz$' || ok=1
        [ -L "$ROOT/etc/systemd/system/multi-user.target.wants/ivswitchd.service" ] &&
            echo "enabled: /etc/systemd/system/multi-user.target.wants/ivswitchd.service -> $(readlink "$ROOT/etc/systemd/system/multi-user.target.wants/ivswitchd.service")" || { echo "the unit is not enabled"; ok=1; }
        chroot "$ROOT" dpkg-query -W -f '${Conffiles}\n' ivswitch | grep -q /etc/ivswitch/ivswitch.yaml && echo "conffile: /etc/ivswitch/ivswitch.yaml" || ok=1
        return $ok
    }
    CHECK_TAIL_OK=8 check "in the fresh root: man pages installed, the service enabled, the config a conffile" in_root_files
    in_root_runs() {
        # the packaged binaries running on the packaged runtime dependencies (DPDK's
        # pcap and null drivers are plugins: a missing one fails here, not in --check)
        mkdir -p "$ROOT/dev" "$ROOT/sys" "$ROOT/run"
        mount --bind /dev "$ROOT/dev" && MOUNTS+=("$ROOT/dev")
        mount --bind /sys "$ROOT/sys" && MOUNTS+=("$ROOT/sys")
        mount -t tmpfs tmpfs "$ROOT/run" && MOUNTS+=("$ROOT/run")
        python3 -c 'import sys; open(sys.argv[1], "wb").write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))' "$ROOT/tmp/in.pcap"
        cat >"$ROOT/tmp/switch.yaml" <<YAML
switch: {instance: pkgtest$$, metrics_address: "", hugepages: off}
ports:
  - {name: p0, type: pcap, rx_file: /tmp/in.pcap, tx_file: /tmp/out.pcap, network: lan}
  - {name: p1, type: discard, network: lan}
networks:
  - {name: lan, vlan: 10}
YAML
        chroot "$ROOT" ivswitchd --config /tmp/switch.yaml >"$WORK/root-daemon.log" 2>&1 & DAEMON_PID=$!
        local i out=""
        for i in $(seq 1 100); do
            out=$(chroot "$ROOT" ivctl --socket /run/ivswitch/pkgtest$$.sock show ports 2>/dev/null) && break
            kill -0 $DAEMON_PID 2>/dev/null || break
            sleep 0.2
        done
        echo "$out"
        # the packaged ivctl top (linked with ncurses) runs on the runtime dependencies alone
        local top=""
        [ -n "$out" ] && top=$(chroot "$ROOT" ivctl --socket /run/ivswitch/pkgtest$$.sock top --once --interval 0.2 2>&1 | grep -E "^(PORTS|p0 )")
        echo "$top"
        kill -TERM $DAEMON_PID 2>/dev/null; wait $DAEMON_PID; local rc=$?; DAEMON_PID=""
        tail -3 "$WORK/root-daemon.log"
        echo "ivswitchd exit status $rc"
        [ -n "$out" ] && echo "$out" | grep -q p0 && echo "$top" | grep -q "^p0 " && [ $rc = 0 ]
    }
    CHECK_TAIL_OK=12 check "in the fresh root: ivswitchd runs on pcap/discard ports and answers ivctl show ports and ivctl top --once" in_root_runs
fi
summary packaging; rc=$?
[ -n "$SKIP_WHY" ] && [ $rc = 0 ] && echo "packaging: SKIPPED: $SKIP_WHY (the checks above passed)"
exit $rc
