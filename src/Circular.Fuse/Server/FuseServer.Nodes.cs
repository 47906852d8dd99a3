using Circular.Fuse.Native;
using Circular.Fuse.Protocol;
using Circular.Fuse.Tree;

namespace Circular.Fuse.Server;

// Name and attribute requests: LOOKUP, GETATTR, SETATTR, STATFS.
internal sealed partial class FuseServer
{
    private void Lookup(in FuseInHeader header, ReadOnlySpan<byte> body)
    {
        if (_tree.Find(header.NodeId) is not DirectoryNode parent)
        {
            _channel.ReplyError(header.Unique, Errno.ENOTDIR);
            return;
        }
        int nul = body.IndexOf((byte)0);
        string name = System.Text.Encoding.UTF8.GetString(nul >= 0 ? body[..nul] : body);
        // Looking into a directory is when new versions should show up.
        Blocking.Wait(_tree.RefreshIfStaleAsync(_stopping.Token));
        if (_tree.FindChild(parent, name) is not { } child)
        {
            _channel.ReplyError(header.Unique, Errno.ENOENT);
            return;
        }
        var (seconds, nanos) = Split(EntryTimeout);
        var entry = new FuseEntryOut {
            NodeId = child.Id,
            EntryValid = seconds,
            EntryValidNsec = nanos,
            AttrValid = seconds,
            AttrValidNsec = nanos,
        };
        child.FillAttr(ref entry.Attr, _owner);
        _channel.Reply(header.Unique, entry);
    }

    private void GetAttr(in FuseInHeader header)
    {
        if (_tree.Find(header.NodeId) is not { } node)
        {
            _channel.ReplyError(header.Unique, Errno.ENOENT);
            return;
        }
        ReplyAttr(header.Unique, node);
    }

    /// <summary>
    /// Shells and tools send SETATTR for harmless things (touch, `echo x &gt; file` truncating to the current size):
    /// accept time changes and an unchanged size, refuse anything that would change the file's shape.
    /// </summary>
    private void SetAttr(in FuseInHeader header, ReadOnlySpan<byte> body)
    {
        if (_tree.Find(header.NodeId) is not { } node)
        {
            _channel.ReplyError(header.Unique, Errno.ENOENT);
            return;
        }
        var request = ReadBody<FuseSetAttrIn>(body);
        bool ownership = (request.Valid & (FuseConstants.FattrMode | FuseConstants.FattrUid | FuseConstants.FattrGid)) != 0;
        bool resize = (request.Valid & FuseConstants.FattrSize) != 0
            && (node is not FileNode file || (long)request.Size != file.Entry.Size);
        if (ownership || resize)
        {
            _channel.ReplyError(header.Unique, Errno.EPERM);
            return;
        }
        ReplyAttr(header.Unique, node);
    }

    private void ReplyAttr(ulong unique, Node node)
    {
        var (seconds, nanos) = Split(EntryTimeout);
        var reply = new FuseAttrOut { AttrValid = seconds, AttrValidNsec = nanos };
        node.FillAttr(ref reply.Attr, _owner);
        _channel.Reply(unique, reply);
    }

    private void StatFs(in FuseInHeader header)
    {
        var reply = new FuseStatFsOut {
            Blocks = (ulong)(_tree.TotalBytes / FuseConstants.PageSize),
            Files = (ulong)_tree.FileCount,
            BSize = FuseConstants.PageSize,
            FrSize = FuseConstants.PageSize,
            NameLen = 255,
        };
        _channel.Reply(header.Unique, reply);
    }
}
