namespace Circular.Fuse.Protocol;

/// <summary>Flag and limit constants of linux/fuse.h that the server uses.</summary>
internal static class FuseConstants
{
    public const uint KernelMajor = 7;

    /// <summary>The minor we speak: 7.38, whose struct sizes the reference measured. The reply carries min(ours, kernel's).</summary>
    public const uint OurMinor = 38;

    /// <summary>Below 7.23 fuse_init_out was 24 bytes long.</summary>
    public const uint MinorWithFullInitOut = 23;

    // fuse_init_in/out flags.
    public const uint AsyncRead = 1u << 0;
    public const uint BigWrites = 1u << 5;
    public const uint ParallelDirops = 1u << 18;
    public const uint MaxPagesFlag = 1u << 22;
    public const uint InitExt = 1u << 30;

    public const uint MaxWrite = 1 << 20;
    public const ushort MaxPages = 256;
    public const int PageSize = 4096;

    /// <summary>Largest READ the kernel will send: max_pages pages, and we pass the same max_read at mount.</summary>
    public const int MaxRead = MaxPages * PageSize;

    /// <summary>libfuse's rule: a read buffer smaller than the largest request makes read(2) fail with EINVAL.</summary>
    public const int RequestBufferSize = (int)MaxWrite + 4096;

    // fuse_open_out.open_flags.
    public const uint FopenKeepCache = 2;

    // fuse_setattr_in.valid.
    public const uint FattrMode = 1, FattrUid = 2, FattrGid = 4, FattrSize = 8;

    // fuse_dirent.type uses DT_* values.
    public const uint DtDir = 4, DtReg = 8;

    public const uint SIfDir = 0x4000, SIfReg = 0x8000;

    public const ulong RootNodeId = 1;
}
