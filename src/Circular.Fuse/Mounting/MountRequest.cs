using Circular.Fuse.Protocol;

namespace Circular.Fuse.Mounting;

/// <summary>What to mount where; shared by the mount(2) and fusermount3 paths.</summary>
internal sealed record MountRequest(string MountPoint, bool Writable, bool AllowOther)
{
    public const string Source = "circular";
    public const string SubType = "circular";

    /// <summary>Options both paths pass; the kernel path adds fd, rootmode and ids, fusermount3 adds them itself.</summary>
    public string CommonOptions =>
        "default_permissions" + (AllowOther ? ",allow_other" : "") + $",max_read={FuseConstants.MaxRead}";
}
