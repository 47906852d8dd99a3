using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Circular.Fuse;

/// <summary>How <see cref="FuseMount.MountAsync"/> mounts the catalog.</summary>
public sealed record FuseMountOptions
{
    /// <summary>Mount read-write and open exports writable; otherwise the mount is MS_RDONLY and files are 0444.</summary>
    public bool Writable { get; init; }

    /// <summary>Let users other than the mounting one see the files (FUSE hides them by default).</summary>
    public bool AllowOther { get; init; }

    /// <summary>Where mount events and request errors are reported.</summary>
    public ILogger Log { get; init; } = NullLogger.Instance;
}
