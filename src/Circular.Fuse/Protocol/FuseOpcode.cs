namespace Circular.Fuse.Protocol;

/// <summary>The subset of <c>enum fuse_opcode</c> (linux/fuse.h) this server handles; anything else gets ENOSYS.</summary>
internal enum FuseOpcode : uint
{
    Lookup = 1,
    Forget = 2,
    GetAttr = 3,
    SetAttr = 4,
    Open = 14,
    Read = 15,
    Write = 16,
    StatFs = 17,
    Release = 18,
    Fsync = 20,
    Flush = 25,
    Init = 26,
    OpenDir = 27,
    ReadDir = 28,
    ReleaseDir = 29,
    Access = 34,
    Interrupt = 36,
    Destroy = 38,
    BatchForget = 42,
}
