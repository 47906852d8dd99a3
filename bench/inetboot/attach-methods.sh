#!/usr/bin/env bash
# Compares the two ways the Circular initramfs could attach an image inside the booting machine: the kernel's NBD
# driver (`circular attach`) and FUSE plus a loop device (`circular mount` + losetup), as the seed did. A TCG guest
# boots the Circular initramfs with an extra script as its init, attaches a 96 MiB busybox image from `circular serve`
# on loopback each way (fresh caches) and times attaching, mounting and reading an 8 MB file. Two rounds.
# Usage: CIRCULAR=out/circular bench/inetboot/attach-methods.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
C=${CIRCULAR:-out/circular}
KERNEL=$(ls /boot/vmlinuz-* | sort -V | tail -1); KVER=${KERNEL#/boot/vmlinuz-}
W=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$W/root"/{bin,sbin,proc,data}; cp "$(command -v busybox)" "$W/root/bin/busybox"
head -c 8000000 /dev/urandom > "$W/root/data/blob"; truncate -s 96M "$W/os.img"; mkfs.ext4 -q -d "$W/root" "$W/os.img"
$C init "$W/A" >/dev/null; $C push "$W/A" os "$W/os.img" >/dev/null
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
$C serve "$W/A" --listen 127.0.0.1:$PORT >/dev/null 2>&1 &
$C initramfs "$W/ci.img" --kernel-version "$KVER" >/dev/null
mkdir -p "$W/exp"; cat > "$W/exp/experiment.sh" <<'SCRIPT'
#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run; mkdir -p /run/circular /m1 /m2
for m in $(cat /etc/circular/modules); do modprobe $m 2>/dev/null; done
modprobe nbd nbds_max=4 max_part=0
udhcpc -i eth0 -n -q -t 4 -f -s /etc/udhcpc/default.script >/dev/null 2>&1
U=http://10.0.2.100; up() { cut -d' ' -f1 /proc/uptime; }
for round in 1 2; do
  t0=$(up); circular attach $U os --cache none --device /dev/nbd$round >/dev/null 2>&1 &
  while [ "$(cat /sys/block/nbd$round/size)" = 0 ]; do sleep 0.05; done
  t1=$(up); mount -o ro /dev/nbd$round /m1 && sha256sum /m1/data/blob >/dev/null; t2=$(up); umount /m1
  mkdir -p /mnt$round; circular mount $U /mnt$round --cache none >/dev/null 2>&1 &
  while [ ! -e /mnt$round/os/1.img ]; do sleep 0.05; done
  t3=$(up); losetup -r /dev/loop$round /mnt$round/os/1.img; mount -o ro /dev/loop$round /m2 && sha256sum /m2/data/blob >/dev/null; t4=$(up); umount /m2
  echo "RESULT round $round: nbd attach $(echo "$t1 - $t0" | bc) s, mount+read $(echo "$t2 - $t1" | bc) s; fuse mount $(echo "$t3 - $t2" | bc) s, loop+mount+read $(echo "$t4 - $t3" | bc) s"
done
poweroff -f
SCRIPT
chmod +x "$W/exp/experiment.sh"; (cd "$W/exp" && echo experiment.sh | busybox cpio -o -H newc 2>/dev/null | gzip) > "$W/exp.cpio.gz"
cat "$W/ci.img" "$W/exp.cpio.gz" > "$W/exp.img"
cat > "$W/relay.py" <<'PY'
import os, socket, sys, threading
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def up():
    while (b := os.read(0, 65536)): s.sendall(b)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while (b := s.recv(65536)): os.write(1, b)
PY
timeout 300 qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot -kernel "$KERNEL" -initrd "$W/exp.img" \
  -append "console=ttyS0 rdinit=/experiment.sh quiet" \
  -netdev "user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:80-cmd:python3 $W/relay.py 127.0.0.1 $PORT" -device virtio-net-pci,netdev=n0 \
  </dev/null 2>&1 | grep -a RESULT
