using Circular.Fuse.Protocol;

namespace Circular.Fuse.Tree;

/// <summary>
/// An inode of the mounted tree. Node ids are never reused, so a kernel that still remembers an id
/// (before FORGET) always finds the same object, even after the catalog dropped it from the listing.
/// </summary>
internal abstract class Node(ulong id, long mtimeSeconds)
{
    public ulong Id { get; } = id;

    /// <summary>Fixed at creation so repeated stats agree and page caches are never invalidated by time alone.</summary>
    public long MtimeSeconds { get; } = mtimeSeconds;

    public abstract bool IsDirectory { get; }

    public abstract void FillAttr(ref FuseAttr attr, in NodeOwner owner);

    protected void FillCommon(ref FuseAttr attr, in NodeOwner owner)
    {
        attr.Ino = Id;
        attr.Atime = attr.Mtime = attr.Ctime = (ulong)MtimeSeconds;
        attr.Uid = owner.Uid;
        attr.Gid = owner.Gid;
        attr.BlkSize = FuseConstants.PageSize;
    }
}

/// <summary>Who owns every node, and whether files are shown writable: fixed for a mount.</summary>
internal readonly record struct NodeOwner(uint Uid, uint Gid, bool Writable);
