#!/bin/bash
# build-guest.sh - build the tiny test guest of tests/vm (Debian kernel + busybox/iperf3
# initramfs, /init = guest-init.sh) from Debian packages only. Adapted from the team's
# reference harness (../shared/harness/vm/build-guest.sh).
#
# usage: build-guest.sh OUTDIR [DEBDIR]
#   OUTDIR  where vmlinuz, vmlinux (PVH ELF), initrd.gz and guest-info.txt go
#   DEBDIR  where downloaded .deb files are kept (default OUTDIR/debs);
#           already-present .debs are reused, so CI can cache this folder.
# env:
#   KERNEL_PKG   kernel image package (default: what linux-image-amd64 depends on)
#   NO_VMLINUX=1 skip extracting the uncompressed PVH vmlinux (saves ~66 MB,
#                costs ~3.5 s of boot per guest under TCG)
#
# Needs: apt-get + dpkg-deb (Debian), readelf (binutils), modinfo (kmod),
# xz, gzip. Installs nothing into the host: packages are only downloaded and
# unpacked with dpkg -x. Must run as root only if `apt-get update` is needed.
set -euo pipefail

die() { echo "build-guest: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: $0 OUTDIR [DEBDIR]"
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
DEBDIR=$(mkdir -p "${2:-$OUT/debs}" && cd "${2:-$OUT/debs}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
for t in apt-get apt-cache dpkg-deb readelf modinfo xz gzip; do
  command -v $t >/dev/null || die "missing host tool: $t"
done

# ---- 1. download packages -------------------------------------------------
if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
  echo "build-guest: package lists empty, running apt-get update"
  apt-get update -qq
fi
if [ -z "${KERNEL_PKG:-}" ]; then
  KERNEL_PKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
fi
[ -n "$KERNEL_PKG" ] || die "cannot resolve kernel package"
# iperf3 runtime closure on Debian 12: iperf3 -> libiperf0 -> libssl3 (libcrypto),
# libsctp1, libc6. Verified below with readelf, so a change fails loudly.
PKGS="$KERNEL_PKG busybox-static iperf3 libiperf0 libssl3 libsctp1 libc6"
(
  cd "$DEBDIR"
  for p in $PKGS; do
    ls ${p}_*.deb >/dev/null 2>&1 && continue
    echo "build-guest: apt-get download $p"
    apt-get download -q -o APT::Sandbox::User=root "$p" >/dev/null
  done
)

# ---- 2. unpack into a staging tree ---------------------------------------
STAGE="$OUT/stage"
rm -rf "$STAGE" "$OUT/root"
mkdir -p "$STAGE"
for p in $PKGS; do
  deb=$(ls -t "$DEBDIR"/${p}_*.deb | head -1)
  dpkg -x "$deb" "$STAGE"
done
KVER=$(ls "$STAGE/lib/modules" | head -1)
[ -n "$KVER" ] || die "no modules in kernel package"
cp "$STAGE/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
cp "$STAGE/boot/config-$KVER" "$OUT/config"

# Uncompressed ELF with a PVH entry note: QEMU jumps straight into it (no
# SeaBIOS, no real-mode setup, no xz decompression under TCG): ~2.5 s to init
# instead of ~6 s. run-pair.sh uses it when present.
rm -f "$OUT/vmlinux"
if [ "${NO_VMLINUX:-0}" != 1 ]; then
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$OUT/vmlinuz" | head -1 | cut -d: -f1 || true)
  if [ -n "$off" ]; then
    tail -c +$((off + 1)) "$OUT/vmlinuz" | xz -dc --single-stream > "$OUT/vmlinux" 2>/dev/null || true
    if [ "$(head -c 4 "$OUT/vmlinux" | od -An -c | tr -d ' ')" != '177ELF' ]; then
      echo "build-guest: warning: vmlinux extraction failed (kernel not xz?)" >&2
      rm -f "$OUT/vmlinux"
    fi
  else
    echo "build-guest: warning: no xz payload in vmlinuz, skipping vmlinux" >&2
  fi
fi

# ---- 3. initramfs tree ---------------------------------------------------
R="$OUT/root"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc,lib/modules,lib64,lib/x86_64-linux-gnu,root}
cp "$STAGE/bin/busybox" "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
cp "$STAGE/usr/bin/iperf3" "$R/usr/bin/iperf3"
echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"
echo 'root:x:0:' > "$R/etc/group"
printf '127.0.0.1 localhost\n' > "$R/etc/hosts"

# shared-library closure of iperf3, resolved inside the staging tree
find_lib() {
  for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib; do
    [ -e "$STAGE/$d/$1" ] && { echo "$d/$1"; return 0; }
  done
  return 1
}
todo="usr/bin/iperf3"; done_libs=""
while [ -n "$todo" ]; do
  set -- $todo; f=$1; shift; todo="$*"
  for n in $(readelf -d "$STAGE/$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    case " $done_libs " in *" $n "*) continue;; esac
    rel=$(find_lib "$n") || die "library $n (needed by $f) not in staged packages"
    done_libs="$done_libs $n"
    mkdir -p "$R/$(dirname "$rel")"
    cp -L "$STAGE/$rel" "$R/$rel"
    todo="$todo $rel"
  done
done
cp -L "$STAGE/lib64/ld-linux-x86-64.so.2" "$R/lib64/" 2>/dev/null \
  || cp -L "$STAGE/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$R/lib64/"

# kernel modules for virtio-net (only if not built in), in load order
MODDIR="$STAGE/lib/modules/$KVER"
order=""
add_mod() { # $1 = module name; depth-first so dependencies come first
  local m=$1 f dep
  case " $order " in *" $m "*) return;; esac
  if grep -qE "/${m}\.ko$" "$MODDIR/modules.builtin" 2>/dev/null; then return; fi
  f=$(find "$MODDIR/kernel" -name "${m}.ko" -o -name "${m}.ko.xz" -o -name "${m}.ko.zst" | head -1)
  [ -n "$f" ] || f=$(find "$MODDIR/kernel" -name "$(echo $m | tr _ -).ko" | head -1)
  [ -n "$f" ] || die "module $m not found"
  for dep in $(modinfo -F depends "$f" | tr , ' '); do add_mod "$dep"; done
  case "$f" in
    *.ko.xz) xz -dc "$f" > "$R/lib/modules/$m.ko";;
    *.ko.zst) command -v zstd >/dev/null || die "module $m is zstd-compressed: install zstd"
              zstd -dcq "$f" > "$R/lib/modules/$m.ko";;
    *) cp "$f" "$R/lib/modules/$m.ko";;
  esac
  order="$order $m"
}
for m in virtio_pci virtio_net; do add_mod $m; done
echo $order > "$R/etc/ivs-modules"

cp "$HERE/guest-init.sh" "$R/init"
chmod 755 "$R/init"

# ---- 4. pack -------------------------------------------------------------
( cd "$R" && find . | sort | "$R/bin/busybox" cpio -o -H newc 2>/dev/null ) | gzip -6 > "$OUT/initrd.gz"
{
  echo "kernel_pkg=$KERNEL_PKG"
  echo "kernel_version=$KVER"
  echo "modules=$order"
  echo "libs=$done_libs"
  for p in $PKGS; do echo "deb=$(basename "$(ls -t "$DEBDIR"/${p}_*.deb | head -1)")"; done
} > "$OUT/guest-info.txt"
rm -rf "$STAGE"
echo "build-guest: done: $OUT/vmlinuz $([ -f "$OUT/vmlinux" ] && echo "$OUT/vmlinux ")$OUT/initrd.gz ($(du -h "$OUT/initrd.gz" | cut -f1))"
cat "$OUT/guest-info.txt"
