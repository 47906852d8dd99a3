using Circular.Core.Errors;

namespace Circular.Boot.Seed;

/// <summary>
/// A virtual disk format qemu-img writes, and the hypervisors that read it (README, "Seed disks for hypervisors").
/// Seed disks are built as a sparse raw file and converted, so every format holds exactly the same disk.
/// </summary>
public sealed record DiskFormat(string Name, string Description)
{
    public static readonly DiskFormat Raw = new("raw", "raw disk image (QEMU/KVM, Proxmox, Xen, cloud images, dd to a USB stick)");
    public static readonly DiskFormat Qcow2 = new("qcow2", "QEMU/KVM, Proxmox, OpenStack");
    public static readonly DiskFormat Vmdk = new("vmdk", "VMware Workstation, Fusion and ESXi; VirtualBox");
    public static readonly DiskFormat Vdi = new("vdi", "VirtualBox");
    public static readonly DiskFormat Vhdx = new("vhdx", "Hyper-V");
    public static readonly DiskFormat Vpc = new("vpc", "VHD: Virtual PC, Hyper-V, Azure, Xen, Parallels");

    public static IReadOnlyList<DiskFormat> All { get; } = [Raw, Qcow2, Vmdk, Vdi, Vhdx, Vpc];

    /// <summary>monolithicSparse (Workstation, VirtualBox) or streamOptimized (ESXi, OVF); vmdk only.</summary>
    public static readonly IReadOnlyList<string> VmdkSubformats = ["monolithicSparse", "streamOptimized"];

    public static DiskFormat Parse(string name) =>
        All.FirstOrDefault(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new UsageException($"unknown disk format '{name}': expected {string.Join(", ", All.Select(f => f.Name))}");

    /// <summary>The format a file name asks for (.img and .raw are raw, .vhd is vpc), or null when the name does not say.</summary>
    public static DiskFormat? FromFileName(string path) =>
        Path.GetExtension(path).ToLowerInvariant() switch {
            ".img" or ".raw" => Raw,
            ".qcow2" or ".qcow" => Qcow2,
            ".vmdk" => Vmdk,
            ".vdi" => Vdi,
            ".vhdx" => Vhdx,
            ".vhd" or ".vpc" => Vpc,
            _ => null,
        };

    /// <summary>qemu-img convert's output arguments for this format.</summary>
    public IReadOnlyList<string> ConvertArguments(string? vmdkSubformat)
    {
        var args = new List<string> { "-O", Name };
        if (this == Vmdk) args.AddRange(["-o", "subformat=" + (vmdkSubformat ?? "monolithicSparse")]);
        // A dynamic VHD's size is stored as a CHS geometry, which would round the disk (and lose the GPT's backup
        // header at its end) unless the size is forced.
        if (this == Vpc) args.AddRange(["-o", "subformat=dynamic,force_size=on"]);
        return args;
    }
}
