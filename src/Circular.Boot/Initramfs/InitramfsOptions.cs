namespace Circular.Boot.Initramfs;

/// <summary>What goes into a Circular initramfs and how it is compressed.</summary>
public sealed record InitramfsOptions
{
    /// <summary>The kernel module tree to take modules from (…/lib/modules/VERSION).</summary>
    public required string ModuleTree { get; init; }
    /// <summary>The `circular` executable to carry (the in-guest build when there is one).</summary>
    public required string Circular { get; init; }
    /// <summary>A statically linked busybox (Debian's busybox-static).</summary>
    public string Busybox { get; init; } = "/bin/busybox";
    /// <summary>Public keys (KEY.pub files) the booted client may trust, named on the kernel command line by key id.</summary>
    public IReadOnlyList<string> TrustKeys { get; init; } = [];
    /// <summary>zstd (the default: small and quick to unpack), xz (smallest, slower to unpack) or gzip (any kernel).</summary>
    public string Compression { get; init; } = "zstd";
    /// <summary>Modules to carry, with everything they need; the default covers common network cards and root devices.</summary>
    public IReadOnlyList<string> Modules { get; init; } = DefaultModules;

    /// <summary>
    /// Network cards (virtio, Intel, Realtek, VMware, Hyper-V, Xen) and what the root needs: the NBD client, FUSE and loop
    /// devices, the file systems an image's root or the seed disk's cache uses, and the disk controllers of the
    /// common hypervisors (a seed disk is IDE, SATA, NVMe, SCSI or paravirtual, whichever the VM gives it).
    /// </summary>
    public static IReadOnlyList<string> DefaultModules { get; } =
    [
        "virtio_pci", "virtio_net", "e1000", "e1000e", "igb", "r8169", "vmxnet3", "hv_netvsc",
        "nbd", "fuse", "loop", "ext4", "overlay", "isofs", "squashfs", "vfat", "nls_cp437", "nls_iso8859_1",
        "virtio_blk", "virtio_scsi", "ahci", "ata_piix", "nvme", "sd_mod", "sr_mod", "hv_storvsc", "vmw_pvscsi", "mptspi",
        "xen_blkfront", "xen_netfront",
    ];

    /// <summary>
    /// Modules the boot needs only once the archive is open (the NBD client, the writable layer, a Live ISO's or boot
    /// medium's file systems): listed in /etc/circular/modules-late, loaded by `netroot` in the background while the
    /// network comes up and the archive's metadata arrives. The other always-needed modules (disks, the cache
    /// partition's file system) and the drivers load first, by /init alongside the client's start.
    /// </summary>
    public static IReadOnlyList<string> LateModules { get; } = ["nbd", "overlay", "fuse", "loop", "isofs", "squashfs", "vfat", "nls_cp437", "nls_iso8859_1"];
}
