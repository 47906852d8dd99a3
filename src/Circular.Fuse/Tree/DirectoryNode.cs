using Circular.Fuse.Protocol;

namespace Circular.Fuse.Tree;

/// <summary>The root, or one image's directory. Children are only touched under <see cref="FuseTree"/>'s lock.</summary>
internal sealed class DirectoryNode(ulong id, long mtimeSeconds) : Node(id, mtimeSeconds)
{
    public Dictionary<string, Node> Children { get; } = new(StringComparer.Ordinal);

    public override bool IsDirectory => true;

    /// <summary>Counted when the tree changes so GETATTR does not walk the children.</summary>
    public int SubdirectoryCount { get; set; }

    public override void FillAttr(ref FuseAttr attr, in NodeOwner owner)
    {
        FillCommon(ref attr, owner);
        attr.Mode = FuseConstants.SIfDir | 0x16D; // 0555: the tree is shaped by the catalog, never by the user
        attr.Nlink = (uint)(2 + SubdirectoryCount);
        attr.Size = 4096;
        attr.Blocks = 8;
    }
}
