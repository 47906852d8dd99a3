#!/usr/bin/env bash
# Issue 12 benchmark: the InetBoot ways of booting the issue 6 Debian guest over an emulated WAN, side by side in one
# run, cold. Guest: bench/wan/make-debian-image.sh (Debian bookworm minbase, systemd, python3, 2 GiB ext4 raw image;
# circular-ready.service prints CIRCULAR-WAN-READY and powers off). Link: bench/WanProxy (RTT/2 each way, one RTT per
# new connection, BANDWIDTH per direction shared by all connections) in front of one nginx (HTTP/1.1 static files)
# serving the archive (pushed with the image's kernel, initrd and command line, profile recorded and pushed,
# 'circular optimize'd into packs, 'circular netboot' scripts under boot/) and, under /bench/, the squashfs for (e)
# and the .zst for (e2). A fresh proxy per run gives that run's bytes (server->client) and connections.
#   (d)    local disk: QEMU -kernel/-initrd (the image's own) on the raw file (bench/wan's (g)); the baseline
#   (a)    diskless in-guest boot: QEMU -kernel (the image's kernel) -initrd (the Circular initramfs) -append
#          "console=ttyS0 circular.url=http://10.0.2.100 circular.image=debian quiet", no disk; the guest reaches
#          10.0.2.100:80 through slirp's guestfwd (restrict=on), a relay and the proxy
#   (a256) the same in 256 MB of RAM
#   (b)    iPXE: QEMU -boot n, slirp's DHCP hands out bootfile=http://10.0.2.100/boot/debian/latest.ipxe; QEMU's NIC ROM
#          (iPXE) fetches the script, the kernel and the Circular initramfs over the WAN, then as (a)
#   (c)    host-side 'circular boot URL' with profile and packs, kernel and Debian initrd given locally (bench/wan's (c))
#   (e)    dracut's livenet, the peer users pick today: the image's kernel with a dracut initramfs (livenet,
#          dmsquash-live) and root=live:http://10.0.2.100/bench/debian.squashfs, a squashfs (zstd -19) of the same
#          root file system, which dracut downloads whole into RAM and boots with an overlayfs on top
#   (e2)   download the zstd -9 image and boot it locally (bench/wan's (f)); the time includes both
#   (f)    host-side 'circular boot URL' with the kernel and Debian's initrd taken from the archive over the WAN
#   (di)   issue 19's baseline: 'circular iso ARCHIVE debian' (the version's kernel and the Circular initramfs) on a CD
#   (ui)   issue 19: the universal medium ('circular iso ARCHIVE', no image): menu (default debian, 1 s), then kexec
#          into the version's own kernel with the Circular initramfs; goal: at most (di) + one kernel start + 1 s
#   (fc)   the same with '--initrd circular' (the small Circular initramfs for the archive's kernel, mounting the
#          disk QEMU is given); the initramfs is built before the run and kept in the run's cache dir, the chunks are cold
# Time is from the start of the command (qemu, circular, curl) to the marker on the guest's console; the command is
# then stopped. Also measured: the Circular initramfs and 'circular iso' sizes.
# Usage: bench/inetboot/run.sh   (from the repository, as root; needs network for apt-get and the Debian mirror)
#   CONFIGS="d a a256 b c e e2 f fc di ui"   (default: all) run only these; (d) is the baseline of the "over (d)" column
#   RECORD_DEBIAN_INITRD=1  record the profile with Debian's initrd and a read-write root (as before session 6)
#   REPEAT=3        run every configuration 3 times, interleaved; the table shows medians
#   NICE=-10        nginx, the proxy and every measured command at that nice level
#   KEEP=1          keep the work directory (console logs, proxy stats, nginx access log, archive)
#   RTT=50 BANDWIDTH=100mbit MEMORY=1G TIMEOUT=480 (seconds per boot)
#   CIRCULAR=/path/to/circular (default out/circular; guest/circular must be beside it)
#   WANPROXY=/path/to/WanProxy (default: published from a copy of bench/WanProxy into the work directory)
#   WAIT_QEMU=1200  before each measured run, wait up to this many seconds (polling every 10 s) until no
#                   qemu-system-x86_64 that is not this script's runs (the machine is shared); then go on and note it
set -euo pipefail
CMD=""   # the command as given, for the report
for v in CONFIGS REPEAT NICE KEEP RTT BANDWIDTH MEMORY TIMEOUT CIRCULAR WANPROXY WAIT_QEMU RELAY OUT; do
  [ -n "${!v:-}" ] && CMD+="$v=${!v@Q} "
done
CMD+="bash bench/inetboot/run.sh"
CONFIGS=${CONFIGS:-d a a256 b c e e2 f fc}
RTT=${RTT:-50}
BANDWIDTH=${BANDWIDTH:-100mbit}
MEMORY=${MEMORY:-1G}
TIMEOUT=${TIMEOUT:-480}
WAIT_QEMU=${WAIT_QEMU:-1200}
PRIO=(); [ -n "${NICE:-}" ] && PRIO=(nice -n "$NICE")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=${CIRCULAR:-$ROOT/out/circular}
IMGDIR=${OUT:-/var/tmp/circular-bench-debian}
STARTED=$(date +%s)
W=$(mktemp -d /var/tmp/circ-bench-inetboot.XXXX)
PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null
  mountpoint -q "$W/mnt" 2>/dev/null && umount "$W/mnt"
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
has() { [[ " $CONFIGS " == *" $1 "* ]]; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
log() { echo "[$(date +%T)] $*" >&2; }
note() { echo "$*" >>"$W/notes"; log "$*"; }
: >"$W/notes"; : >"$W/results"; : >"$W/sizes"
size() { echo "$1 $(stat -c %s "$2")" >>"$W/sizes"; }
[ -x "$C" ] && [ -x "$(dirname "$C")/guest/circular" ] || { echo "need CIRCULAR=path/to/circular with guest/circular beside it" >&2; exit 2; }

# --- the guest: another job may be building it right now; wait for that instead of building it twice ----------
waited=0
while pgrep -x debootstrap >/dev/null || pgrep -f make-debian-image.sh >/dev/null; do
  [ $waited = 0 ] && log "waiting for another build of the Debian image (debootstrap / make-debian-image.sh) to finish"
  [ $waited -ge 3600 ] && { echo "the other image build is still running after an hour" >&2; exit 1; }
  sleep 10; waited=$((waited + 10))
done
OUT=$IMGDIR bash "$ROOT/bench/wan/make-debian-image.sh" >&2
IMG=$IMGDIR/debian.img KERNEL=$IMGDIR/vmlinuz INITRD=$IMGDIR/initrd.img
APPEND=$(cat "$IMGDIR/append") MARKER=$(cat "$IMGDIR/marker")
REL=$(file -bL "$KERNEL" | grep -o 'version [^ ]*' | cut -d' ' -f2)
[ -n "$REL" ] || { echo "cannot read the kernel release of $KERNEL" >&2; exit 1; }
# Things derived from the image are cached beside it, valid while the image is the same file.
STAMP="$(stat -c '%s %Y' "$IMG") $REL"
DERIVED=$IMGDIR/inetboot
if [ "$(cat "$DERIVED/stamp" 2>/dev/null)" != "$STAMP" ]; then rm -rf "$DERIVED"; mkdir -p "$DERIVED"; echo "$STAMP" >"$DERIVED/stamp"; fi

# --- the kernel's modules: the initramfs, netboot, iso and --initrd circular take /lib/modules/REL -----------------
MODARGS=(--kernel-version "$REL") KMODDIR=
SETUP_FC=ok
if [ ! -d "/lib/modules/$REL" ]; then
  log "installing linux-image-$REL for its modules (/lib/modules/$REL; the image's kernel is $REL)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "linux-image-$REL"; } \
    >"$W/apt-kernel.log" 2>&1 || true
fi
if [ ! -d "/lib/modules/$REL" ]; then
  # Without the package: the image's own module tree (--initrd circular only looks in /lib/modules).
  KMODDIR=$DERIVED/modules/$REL
  if [ ! -s "$KMODDIR/modules.dep" ]; then
    rm -rf "$DERIVED/modules"; mkdir -p "$DERIVED/modules"
    debugfs -R "rdump /usr/lib/modules/$REL $DERIVED/modules" "$IMG" >/dev/null 2>&1
  fi
  MODARGS=(--modules "$KMODDIR")
  SETUP_FC="/lib/modules/$REL is missing and 'apt-get install linux-image-$REL' failed (see apt-kernel.log); --initrd circular only takes modules from /lib/modules"
fi
[ -f "$IMGDIR/debian.img.zst" ] || ! has e2 || {
  log "compressing the image for (e2) (zstd -9, once)"
  zstd -q -9 -T0 -f "$IMG" -o "$IMGDIR/debian.img.zst.tmp" && mv "$IMGDIR/debian.img.zst.tmp" "$IMGDIR/debian.img.zst"; }

# --- tools ------------------------------------------------------------------------------------------------------
if [ -n "${WANPROXY:-}" ]; then PROXY=$WANPROXY; else
  log "building WanProxy (from a copy of bench/WanProxy in $W)"
  mkdir -p "$W/src/bench/WanProxy"
  cp "$ROOT"/bench/WanProxy/*.cs "$ROOT"/bench/WanProxy/*.csproj "$W/src/bench/WanProxy/"
  cp "$ROOT"/Directory.Build.props "$ROOT"/Directory.Packages.props "$ROOT"/.editorconfig "$W/src/"
  dotnet publish "$W/src/bench/WanProxy" -c Release -o "$W/proxy" --nologo -v quiet >"$W/build-proxy.log" 2>&1 \
    || { cat "$W/build-proxy.log" >&2; exit 1; }
  PROXY=$W/proxy/WanProxy
fi
SETUP_E=ok
if has e; then
  need=()
  command -v dracut >/dev/null || need+=(dracut-core)          # 'dracut' itself conflicts with initramfs-tools
  [ -d /usr/lib/dracut/modules.d/90livenet ] || need+=(dracut-live dracut-network)
  command -v mksquashfs >/dev/null || need+=(squashfs-tools)
  if [ ${#need[@]} -gt 0 ]; then
    log "apt-get install ${need[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"; } \
      >"$W/apt-dracut.log" 2>&1 || SETUP_E="apt-get install ${need[*]} failed: $(tail -1 "$W/apt-dracut.log")"
  fi
fi
RELAY=${RELAY:-$ROOT/bench/lib/relay.py}   # the guestfwd relay, one process per guest connection

# --- the archive ------------------------------------------------------------------------------------------------
ARCHIVE=$W/archive
log "circular push (with the image's kernel, initrd and command line)"
{ "$C" init "$ARCHIVE" && "$C" push "$ARCHIVE" debian "$IMG" --kernel "$KERNEL" --initrd "$INITRD" --append "$APPEND"; } \
  >"$W/push.log" 2>&1 || { cat "$W/push.log" >&2; exit 1; }
BOOT_ARGS=(--ready-marker "$MARKER" --accel tcg --memory "$MEMORY")
LOCAL_ASSETS=(--kernel "$KERNEL" --initrd "$INITRD" --append "$APPEND")
# The profile is recorded as the in-guest client reads: the image's kernel with the Circular initramfs, the root read-only
# under a RAM layer (circular.overlay=tmpfs), quiet; a boot with Debian's initrd and a read-write root read 69 other chunks.
RECORD_ASSETS=(--kernel "$KERNEL" --initrd circular --append "console=ttyS0 quiet circular.overlay=tmpfs")
[ -n "${RECORD_DEBIAN_INITRD:-}" ] && RECORD_ASSETS=("${LOCAL_ASSETS[@]}")
log "recording the boot profile (local archive boot as the in-guest client reads), profile push, optimize"
python3 "$ROOT/bench/wan/until-marker.py" --wait-exit --timeout "$TIMEOUT" --log "$W/record.console" "$MARKER" \
  "$C" boot "$ARCHIVE" debian@1 --record-profile "$W/boot.profile" --cache "$W/cache-record" "${RECORD_ASSETS[@]}" "${BOOT_ARGS[@]}" \
  >/dev/null || { echo "the profile-recording boot did not reach the marker (see $W/record.console)" >&2; KEEP=1; exit 1; }
"$C" profile push "$ARCHIVE" debian@1 "$W/boot.profile" >&2
"$C" optimize "$ARCHIVE" debian@1 >&2
log "circular netboot"
"$C" netboot "$ARCHIVE" debian --url http://10.0.2.100 --append quiet ${KMODDIR:+--modules "$KMODDIR"} >"$W/netboot.log" 2>&1 \
  || { cat "$W/netboot.log" >&2; exit 1; }
log "circular initramfs, circular iso"
t0=$(date +%s.%N)
"$C" initramfs "$W/ci.img" "${MODARGS[@]}" >"$W/initramfs.log" 2>&1 || { cat "$W/initramfs.log" >&2; exit 1; }
echo "initramfs-build-s $(echo "$(date +%s.%N) - $t0" | bc)" >>"$W/sizes"
size initramfs "$W/ci.img"
size netboot-initramfs "$(ls "$ARCHIVE"/boot/initramfs/*.img | head -1)"
size kernel "$KERNEL"; size debian-initrd "$INITRD"
if "$C" iso "$ARCHIVE" debian -o "$W/boot.iso" --url http://10.0.2.100 --cache "$W/cache-iso" ${KMODDIR:+--modules "$KMODDIR"} \
     >"$W/iso.log" 2>&1; then size iso "$W/boot.iso"; else note "circular iso failed: $(tail -1 "$W/iso.log")"; fi
if has di || has ui; then
  # Issue 19: the direct ISO of the version (as (a), booted from a CD) against the universal medium (no image named:
  # a menu from the archive, its default taken after 1 s, then kexec into the version's own kernel). Both carry the
  # image's kernel release, so the medium's initramfs has that kernel's modules.
  "$C" iso "$ARCHIVE" debian -o "$W/direct.iso" --url http://10.0.2.100 --append quiet ${KMODDIR:+--modules "$KMODDIR"} \
    >"$W/iso-direct.log" 2>&1 || { cat "$W/iso-direct.log" >&2; exit 1; }
  "$C" iso "$ARCHIVE" -o "$W/universal.iso" --url http://10.0.2.100 --kernel "$KERNEL" ${KMODDIR:+--modules "$KMODDIR"} \
    --menu-timeout 1 --append "circular.image=debian quiet" >"$W/iso-universal.log" 2>&1 || { cat "$W/iso-universal.log" >&2; exit 1; }
  size universal-iso "$W/universal.iso"
fi
if has fc && [ "$SETUP_FC" = ok ]; then
  # --initrd circular builds the initramfs into the cache's initramfs/ on first use: build it now (a local boot up
  # to the kernel's first line), so that the measured runs start with that directory and no chunks.
  log "building the --initrd circular initramfs into a cache"
  python3 "$ROOT/bench/wan/until-marker.py" --timeout "$TIMEOUT" --log "$W/fc-prepare.console" "Linux version" \
    "$C" boot "$ARCHIVE" debian@1 --initrd circular --cache "$W/cache-fc" --append "console=ttyS0 root=/dev/vda rw" \
    --accel tcg --memory "$MEMORY" >/dev/null && ls "$W"/cache-fc/initramfs/*.img >/dev/null 2>&1 \
    || SETUP_FC="'boot --initrd circular' did not start the kernel: $(grep -a 'circular:' "$W/fc-prepare.console" | tail -1)"
fi

# --- (e): dracut's livenet initramfs and a squashfs of the same root file system (cached beside the image) --------
if has e && [ "$SETUP_E" = ok ]; then
  if [ ! -s "$DERIVED/debian.squashfs" ]; then
    log "mksquashfs of the image's root file system (zstd -19, once)"
    mkdir -p "$W/mnt"
    if mount -o ro,loop,noload "$IMG" "$W/mnt" 2>/dev/null; then src=$W/mnt; else
      src=$W/rootfs; mkdir -p "$src"; debugfs -R "rdump / $src" "$IMG" >/dev/null 2>&1; fi
    mksquashfs "$src" "$DERIVED/debian.squashfs.tmp" -comp zstd -Xcompression-level 19 -noappend -quiet -no-progress >&2 \
      && mv "$DERIVED/debian.squashfs.tmp" "$DERIVED/debian.squashfs" || SETUP_E="mksquashfs failed"
    mountpoint -q "$W/mnt" && umount "$W/mnt"; rm -rf "$W/rootfs"
  fi
  # A generic (not host-only) initramfs, as a distribution ships it, with livenet. The network is dracut's
  # network-legacy (dhclient): with dracut 059's default here, systemd-networkd, the interface comes up but the
  # initqueue's "online" hooks never run, so livenet never fetches the squashfs (the boot waits for /dev/root forever).
  DRACUT_ARGS=(--no-hostonly --no-hostonly-cmdline --add "network-legacy livenet dmsquash-live"
    --omit "systemd-networkd plymouth lvm mdraid dmraid crypt multipath iscsi nfs fcoe fcoe-uefi nbd btrfs"
    --add-drivers "virtio_pci virtio_net virtio_blk squashfs overlay loop" --zstd)
  DRACUT_VER=$(dpkg-query -W -f '${Version}' dracut-core 2>/dev/null || echo unknown)
  DRACUT_IMG=$DERIVED/dracut-livenet-$DRACUT_VER-$(echo "${DRACUT_ARGS[*]} $KMODDIR" | md5sum | cut -c1-8).img
  if [ "$SETUP_E" = ok ] && [ ! -s "$DRACUT_IMG" ]; then
    log "dracut initramfs with livenet for $REL (once)"
    dracut --force "${DRACUT_ARGS[@]}" --kver "$REL" ${KMODDIR:+--kmoddir "$KMODDIR"} "$DRACUT_IMG.tmp" \
      >"$W/dracut.log" 2>&1 && mv "$DRACUT_IMG.tmp" "$DRACUT_IMG" || SETUP_E="dracut failed: $(tail -1 "$W/dracut.log")"
  fi
  if [ "$SETUP_E" = ok ]; then size squashfs "$DERIVED/debian.squashfs"; size dracut-initramfs "$DRACUT_IMG"; fi
fi

# --- server: one nginx (HTTP/1.1 static files): the archive at /, the squashfs and the .zst under /bench/ ----------
mkdir -p "$W/files" "$W/nginx-tmp"
for f in "$DERIVED/debian.squashfs" "$IMGDIR/debian.img.zst"; do
  [ -f "$f" ] && { ln "$f" "$W/files/" 2>/dev/null || cp "$f" "$W/files/"; }
done
NPORT=$(free_port)
cat >"$W/nginx.conf" <<NGINX
daemon on;
user root;
worker_processes 2;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 1024; }
http {
  log_format wan '\$msec \$connection \$request_method \$uri range=\$http_range status=\$status sent=\$bytes_sent';
  access_log $W/access.log wan;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  keepalive_timeout 300s;
  default_type application/octet-stream;
  client_body_temp_path $W/nginx-tmp;
  proxy_temp_path $W/nginx-tmp;
  fastcgi_temp_path $W/nginx-tmp;
  uwsgi_temp_path $W/nginx-tmp;
  scgi_temp_path $W/nginx-tmp;
  server {
    listen 127.0.0.1:$NPORT;
    root $ARCHIVE;
    location /bench/ { alias $W/files/; }
  }
}
NGINX
${PRIO[@]+"${PRIO[@]}"} nginx -c "$W/nginx.conf" -e "$W/nginx-error.log"
for _ in $(seq 50); do curl -sfo /dev/null "http://127.0.0.1:$NPORT/boot/debian/latest.ipxe" && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$NPORT/boot/debian/latest.ipxe" >"$W/latest.ipxe" || { echo "nginx does not serve boot/debian/latest.ipxe" >&2; exit 1; }

# --- runs -------------------------------------------------------------------------------------------------------
# foreign_qemu: the qemu-system-x86_64 processes running that this script did not start.
foreign_qemu() {
  local p q out=()
  for p in $(pgrep -f qemu-system-x86_64 || true); do
    [ "$(basename "$(tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | head -1)")" = qemu-system-x86_64 ] || continue
    q=$p
    while [ -n "$q" ] && [ "$q" -gt 1 ] && [ "$q" != $$ ]; do q=$(ps -o ppid= -p "$q" 2>/dev/null | tr -d ' '); done
    [ "$q" = $$ ] || out+=("$p")
  done
  echo "${out[@]}"
}
# wait_machine NAME: until no foreign QEMU runs, polling every 10 s, at most WAIT_QEMU seconds; prints seconds waited.
wait_machine() {
  local waited=0 others
  while others=$(foreign_qemu); [ -n "$others" ]; do
    if [ "$waited" -ge "$WAIT_QEMU" ]; then note "($1): another qemu-system-x86_64 (pid $others) still running after ${waited} s; measured anyway"; break; fi
    [ "$waited" = 0 ] && log "($1): waiting for other qemu-system-x86_64 (pid $others) to finish"
    sleep 10; waited=$((waited + 10))
  done
  echo "$waited"
}
# run NAME COMMAND...: wait for the machine, a fresh proxy, the command timed to the marker, then the proxy's counters.
run() {
  local name=$1; shift
  local stats=$W/stats-$name-$rep.json console=$W/console-$name-$rep.log t waited load
  waited=$(wait_machine "$name")
  ${PRIO[@]+"${PRIO[@]}"} "$PROXY" --listen "127.0.0.1:$PPORT" --target "127.0.0.1:$NPORT" --rtt "${RTT}ms" \
    --bandwidth "$BANDWIDTH" --stats "$stats" 2>>"$W/proxy.log" & local proxy=$!
  PIDS+=("$proxy")
  for _ in $(seq 100); do [ -s "$stats" ] && break; sleep 0.05; done
  find "$ARCHIVE" "$W/files/" -type f -exec cat {} + >/dev/null; cat "$IMG" "$KERNEL" "$INITRD" >/dev/null  # warm alike
  load=$(cut -d' ' -f1 /proc/loadavg)
  t=$(python3 "$ROOT/bench/wan/until-marker.py" --timeout "$TIMEOUT" --log "$console" --stamps "$W/stamps-$name-$rep.log" \
        "$MARKER" ${PRIO[@]+"${PRIO[@]}"} "$@" || true)
  kill -TERM "$proxy"; wait "$proxy" 2>/dev/null || true
  echo "== $name $rep" >>"$W/access.log"
  echo "$name $rep $t $load $waited $(python3 -c 'import json,sys;print(json.dumps(json.load(open(sys.argv[1]))))' "$stats")" >>"$W/results"
  log "($name) ${t} s (load $load), $(python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));print("%.1f MiB in %d connections" % (d["serverToClientBytes"]/2**20, d["connections"]))' "$stats")"
  if [ "$t" = nan ]; then
    note "($name) run $rep did not reach the marker; the console's last lines:"
    tail -n 25 "$console" | sed 's/^/    /' | tee -a "$W/notes" >&2
  fi
}
skip() { note "($1) skipped: $2"; echo "$1 skip" >>"$W/results"; }

PPORT=$(free_port)
URL=http://127.0.0.1:$PPORT
QEMU=(qemu-system-x86_64 -nographic -no-reboot -nodefaults -serial stdio -accel tcg)
FWD="guestfwd=tcp:10.0.2.100:80-cmd:python3 $RELAY 127.0.0.1 $PPORT"
NET="user,id=n0,restrict=on,$FWD"
DRIVE_OPTS=format=raw,if=virtio,cache=writeback,snapshot=on
A_APPEND="console=ttyS0 circular.url=http://10.0.2.100 circular.image=debian quiet"
E_APPEND="console=ttyS0 root=live:http://10.0.2.100/bench/debian.squashfs ip=dhcp rd.neednet=1 rd.live.overlay.overlayfs=1 rd.shell=0 rd.emergency=poweroff quiet"
for rep in $(seq "${REPEAT:-1}"); do
  for cfg in d a a256 b c e e2 f fc di ui; do
    has "$cfg" || continue
    case $cfg in
      d) run d "${QEMU[@]}" -m "$MEMORY" -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" -drive "file=$IMG,$DRIVE_OPTS" ;;
      a) run a "${QEMU[@]}" -m "$MEMORY" -kernel "$KERNEL" -initrd "$W/ci.img" -append "$A_APPEND" \
           -netdev "$NET" -device virtio-net-pci,netdev=n0 ;;
      a256) run a256 "${QEMU[@]}" -m 256M -kernel "$KERNEL" -initrd "$W/ci.img" -append "$A_APPEND" \
           -netdev "$NET" -device virtio-net-pci,netdev=n0 ;;
      b) run b "${QEMU[@]}" -m "$MEMORY" -boot n \
           -netdev "user,id=n0,restrict=on,bootfile=http://10.0.2.100/boot/debian/latest.ipxe,$FWD" -device virtio-net-pci,netdev=n0 ;;
      c) rm -rf "$W/cache"; run c "$C" boot "$URL" debian@1 --cache "$W/cache" "${LOCAL_ASSETS[@]}" "${BOOT_ARGS[@]}" ;;
      e) if [ "$SETUP_E" != ok ]; then skip e "$SETUP_E"; continue; fi
         run e "${QEMU[@]}" -m "$MEMORY" -kernel "$KERNEL" -initrd "$DRACUT_IMG" -append "$E_APPEND" \
           -netdev "$NET" -device virtio-net-pci,netdev=n0 ;;
      e2) rm -f "$W/e2.img"
          run e2 bash -c 'curl -sf "$1" | zstd -q -d -o "$2" && shift 2 && exec "$@"' _ "$URL/bench/debian.img.zst" "$W/e2.img" \
            "${QEMU[@]}" -m "$MEMORY" -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" -drive "file=$W/e2.img,$DRIVE_OPTS"
          rm -f "$W/e2.img" ;;
      f) rm -rf "$W/cache"; run f "$C" boot "$URL" debian@1 --cache "$W/cache" "${BOOT_ARGS[@]}" ;;
      di) run di "${QEMU[@]}" -m "$MEMORY" -cdrom "$W/direct.iso" -boot d -netdev "$NET" -device virtio-net-pci,netdev=n0 ;;
      ui) run ui "${QEMU[@]}" -m "$MEMORY" -cdrom "$W/universal.iso" -boot d -netdev "$NET" -device virtio-net-pci,netdev=n0 ;;
      fc) if [ "$SETUP_FC" != ok ]; then skip fc "$SETUP_FC"; continue; fi
          rm -rf "$W/cache"; mkdir -p "$W/cache"; cp -a "$W/cache-fc/initramfs" "$W/cache/"
          run fc "$C" boot "$URL" debian@1 --cache "$W/cache" --initrd circular "${BOOT_ARGS[@]}" ;;
    esac
  done
done

# --- report -----------------------------------------------------------------------------------------------------
{
  echo "command: \`$CMD\` (commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%Y-%m-%dT%H:%MZ), $(( ($(date +%s) - STARTED) / 60 )) min in all)"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); QEMU TCG; -m $MEMORY unless listed"
  echo "guest: bench/wan/make-debian-image.sh (Debian bookworm minbase + systemd + python3, 2 GiB ext4 raw), kernel $REL"
  echo "link: WanProxy, ${RTT} ms RTT, $BANDWIDTH per direction; server: nginx (HTTP/1.1, static files); cold${NICE:+; nice $NICE}"
} >"$W/header"
MEMORY=$MEMORY python3 "$ROOT/bench/inetboot/report.py" "$W/header" "$W/results" "$W/sizes" "$W/notes" "$W/access.log"
