namespace Circular.Testing;

/// <summary>The Debian package that installs each external tool the tests run (scripts/install-deps.sh installs them all).</summary>
internal static class ToolPackages
{
    private static readonly Dictionary<string, string> s_packages = new() {
        ["mkfs.ext4"] = "e2fsprogs",
        ["debugfs"] = "e2fsprogs",
        ["e2fsck"] = "e2fsprogs",
        ["qemu-img"] = "qemu-utils",
        ["qemu-io"] = "qemu-utils",
        ["qemu-system-x86_64"] = "qemu-system-x86",
        ["nbdinfo"] = "libnbd-bin",
        ["nbdcopy"] = "libnbd-bin",
        ["fusermount3"] = "fuse3",
        ["mount"] = "mount",
        ["umount"] = "mount",
        ["setpriv"] = "util-linux",
        ["nginx"] = "nginx",
        ["swtpm"] = "swtpm",
        ["tpm2_pcrread"] = "tpm2-tools",
        ["busybox"] = "busybox-static",
        ["modprobe"] = "kmod",
        ["kill"] = "procps",
        ["python3"] = "python3",
        ["grub-mkrescue"] = "grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools",
        ["debootstrap"] = "debootstrap",
        ["chromium"] = "chromium",
        ["squid"] = "squid",
        ["rclone"] = "rclone",
        ["moto_server"] = "(none: moto ships with this machine image; pip install 'moto[server]')",
    };

    public static string Of(string tool) => s_packages.TryGetValue(tool, out var package) ? package : tool;
}
