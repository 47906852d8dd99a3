using System.Runtime.InteropServices;

namespace Circular.Fuse.Protocol;

// Wire structs of the FUSE kernel protocol, field for field as in linux/fuse.h 7.38. Every struct is
// little-endian and naturally aligned, so Sequential layout matches the C layout on x86-64 and arm64;
// ProtocolStructSizeTests pins each size against the table in docs/reference fuse-nbd.md §2.3.

/// <summary>fuse_in_header (40 B): precedes every request.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseInHeader
{
    public uint Len;
    public uint Opcode;
    public ulong Unique;
    public ulong NodeId;
    public uint Uid;
    public uint Gid;
    public uint Pid;
    public ushort TotalExtLen;
    public ushort Padding;
}

/// <summary>fuse_out_header (16 B): precedes every reply; Error is 0 or -errno.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseOutHeader
{
    public uint Len;
    public int Error;
    public ulong Unique;
}

/// <summary>fuse_init_in (64 B).</summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
internal struct FuseInitIn
{
    public uint Major;
    public uint Minor;
    public uint MaxReadahead;
    public uint Flags;
    public uint Flags2;
}

/// <summary>fuse_init_out (64 B; kernels older than 7.23 take only the first 24).</summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
internal struct FuseInitOut
{
    public uint Major;
    public uint Minor;
    public uint MaxReadahead;
    public uint Flags;
    public ushort MaxBackground;
    public ushort CongestionThreshold;
    public uint MaxWrite;
    public uint TimeGran;
    public ushort MaxPages;
    public ushort MapAlignment;
    public uint Flags2;
}

/// <summary>fuse_attr (88 B).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseAttr
{
    public ulong Ino;
    public ulong Size;
    public ulong Blocks;
    public ulong Atime;
    public ulong Mtime;
    public ulong Ctime;
    public uint AtimeNsec;
    public uint MtimeNsec;
    public uint CtimeNsec;
    public uint Mode;
    public uint Nlink;
    public uint Uid;
    public uint Gid;
    public uint Rdev;
    public uint BlkSize;
    public uint Flags;
}

/// <summary>fuse_entry_out (128 B): the LOOKUP reply.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseEntryOut
{
    public ulong NodeId;
    public ulong Generation;
    public ulong EntryValid;
    public ulong AttrValid;
    public uint EntryValidNsec;
    public uint AttrValidNsec;
    public FuseAttr Attr;
}

/// <summary>fuse_attr_out (104 B): the GETATTR and SETATTR reply.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseAttrOut
{
    public ulong AttrValid;
    public uint AttrValidNsec;
    public uint Dummy;
    public FuseAttr Attr;
}

/// <summary>fuse_setattr_in (88 B); Valid says which fields the caller wants changed.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseSetAttrIn
{
    public uint Valid;
    public uint Padding;
    public ulong Fh;
    public ulong Size;
    public ulong LockOwner;
    public ulong Atime;
    public ulong Mtime;
    public ulong Ctime;
    public uint AtimeNsec;
    public uint MtimeNsec;
    public uint CtimeNsec;
    public uint Mode;
    public uint Unused4;
    public uint Uid;
    public uint Gid;
    public uint Unused5;
}

/// <summary>fuse_open_in (8 B), for OPEN and OPENDIR.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseOpenIn
{
    public uint Flags;
    public uint OpenFlags;
}

/// <summary>fuse_open_out (16 B).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseOpenOut
{
    public ulong Fh;
    public uint OpenFlags;
    public uint Padding;
}

/// <summary>fuse_read_in and fuse_write_in share this 40-byte layout; WRITE data follows it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseIoIn
{
    public ulong Fh;
    public ulong Offset;
    public uint Size;
    public uint IoFlags;
    public ulong LockOwner;
    public uint Flags;
    public uint Padding;
}

/// <summary>fuse_write_out (8 B).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseWriteOut
{
    public uint Size;
    public uint Padding;
}

/// <summary>fuse_release_in (24 B), for RELEASE and RELEASEDIR.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseReleaseIn
{
    public ulong Fh;
    public uint Flags;
    public uint ReleaseFlags;
    public ulong LockOwner;
}

/// <summary>fuse_flush_in (24 B) and fuse_fsync_in (16 B) both start with the handle; that is all we read.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseFhIn
{
    public ulong Fh;
}

/// <summary>fuse_kstatfs (80 B): the STATFS reply.</summary>
[StructLayout(LayoutKind.Sequential, Size = 80)]
internal struct FuseStatFsOut
{
    public ulong Blocks;
    public ulong BFree;
    public ulong BAvail;
    public ulong Files;
    public ulong FFree;
    public uint BSize;
    public uint NameLen;
    public uint FrSize;
}

/// <summary>fuse_dirent header (24 B); the name follows, padded to 8 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseDirent
{
    public ulong Ino;
    public ulong Off;
    public uint NameLen;
    public uint Type;
}
