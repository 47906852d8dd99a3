using System.Diagnostics;
using Circular.Core.Errors;

namespace Circular.Cli.Demo;

/// <summary>
/// Builds the demo's guest from Debian packages on this machine: an ext4 root with busybox whose /init prints
/// a ready marker with the version's release text and powers off; a second version differing only in that text
/// (edited in place with debugfs, so the versions share every other block); and a small "miniroot" initramfs
/// (busybox plus the kernel's virtio and ext4 modules) that mounts /dev/vda — the seed's small boot media.
/// </summary>
public static class DemoImageBuilder
{
    public const string Marker = "CIRCULAR-READY";

    public sealed record Result(string Version1, string Version2, string Kernel, string Miniroot, string KernelVersion);

    public static async Task<Result> BuildAsync(string dir, CancellationToken ct)
    {
        string kernel = Directory.Exists("/boot") ? Directory.GetFiles("/boot", "vmlinuz-*").Order(StringComparer.Ordinal).LastOrDefault() ?? "" : "";
        if (kernel.Length == 0) throw new CircularException("no kernel in /boot: apt-get install linux-image-amd64 (or run scripts/install-deps.sh)");
        string kver = Path.GetFileName(kernel)["vmlinuz-".Length..];
        foreach (var tool in new[] { "busybox", "mkfs.ext4", "debugfs", "cpio", "gzip", "modprobe" })
            if (!OnPath(tool)) throw new CircularException($"the demo needs '{tool}': run scripts/install-deps.sh");
        await RunAsync(Script, [dir, kver], ct).ConfigureAwait(false);
        return new Result(Path.Combine(dir, "v1.img"), Path.Combine(dir, "v2.img"), kernel, Path.Combine(dir, "miniroot.img"), kver);
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Append("/usr/sbin").Append("/sbin")
            .Any(d => File.Exists(Path.Combine(d, tool)));

    private static async Task RunAsync(string script, string[] args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add("demo-build");
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["PATH"] = (Environment.GetEnvironmentVariable("PATH") ?? "") + ":/usr/sbin:/sbin";
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync(ct);
        var output = p.StandardOutput.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct).ConfigureAwait(false);
        if (p.ExitCode != 0) throw new CircularException($"building the demo image failed: {(await err.ConfigureAwait(false)).Trim()} {(await output.ConfigureAwait(false)).Trim()}");
    }

    private const string Script = """
        set -euo pipefail
        W=$1; KVER=$2
        BB=$(command -v busybox)
        rm -rf "$W/root" "$W/miniroot"; mkdir -p "$W"

        # Root file system of version 1.
        R=$W/root
        mkdir -p "$R"/{bin,proc,sys,dev,etc,tmp,data}
        cp "$BB" "$R/bin/busybox"
        for c in sh mount umount cat echo poweroff sync sha256sum ls uname head; do ln -s busybox "$R/bin/$c"; done
        cat > "$R/init" <<'INIT'
        #!/bin/sh
        mount -t proc proc /proc
        echo "CIRCULAR-READY $(cat /etc/circular-release) kernel=$(uname -r) busybox=$(sha256sum /bin/busybox | head -c 12)"
        sync
        poweroff -f
        INIT
        chmod +x "$R/init"
        echo "version=1 message=hello-from-version-1" > "$R/etc/circular-release"
        # Data the boot never reads: a cold boot must not fetch it.
        head -c 48M /dev/urandom > "$R/data/payload.bin"
        rm -f "$W/v1.img"; truncate -s 256M "$W/v1.img"
        mkfs.ext4 -q -F -d "$R" "$W/v1.img"

        # Version 2: the same image with one file changed in place.
        cp --sparse=always "$W/v1.img" "$W/v2.img"
        echo "version=2 message=hello-from-version-2" > "$W/release2"
        debugfs -w -R "rm /etc/circular-release" "$W/v2.img" >/dev/null 2>&1
        debugfs -w -R "write $W/release2 /etc/circular-release" "$W/v2.img" >/dev/null 2>&1

        # Miniroot: busybox and the modules that reach an ext4 root on a virtio disk.
        M=$W/miniroot
        mkdir -p "$M"/{bin,dev,proc,sys,newroot,lib/modules}
        cp "$BB" "$M/bin/busybox"
        : > "$M/modules.order"
        for mod in virtio_pci virtio_blk ext4; do
          modprobe -S "$KVER" --show-depends "$mod" | awk '$1 == "insmod" { print $2 }'
        done | awk '!seen[$0]++' | while read -r ko; do
          cp "$ko" "$M/lib/modules/"; basename "$ko" >> "$M/modules.order"
        done
        cat > "$M/init" <<'INIT'
        #!/bin/busybox sh
        /bin/busybox --install -s /bin
        mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
        for m in $(cat /modules.order); do insmod "/lib/modules/$m" 2>/dev/null; done
        i=0; while [ ! -b /dev/vda ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
        mount -t ext4 -o ro /dev/vda /newroot || { echo "miniroot: cannot mount /dev/vda"; poweroff -f; }
        umount /proc /sys; mount --move /dev /newroot/dev
        exec switch_root /newroot /init
        INIT
        chmod +x "$M/init"
        (cd "$M" && find . | cpio -o -H newc --quiet | gzip -1) > "$W/miniroot.img"
        """;
}
