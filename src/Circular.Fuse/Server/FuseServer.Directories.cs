using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Circular.Fuse.Native;
using Circular.Fuse.Protocol;
using Circular.Fuse.Tree;

namespace Circular.Fuse.Server;

// Directory requests: OPENDIR, READDIR, RELEASEDIR.
internal sealed partial class FuseServer
{
    private void OpenDir(in FuseInHeader header)
    {
        var node = _tree.Find(header.NodeId);
        if (node is not DirectoryNode dir)
        {
            _channel.ReplyError(header.Unique, node is null ? Errno.ENOENT : Errno.ENOTDIR);
            return;
        }
        Blocking.Wait(_tree.RefreshIfStaleAsync(_stopping.Token));
        // The listing is copied now, so READDIR offsets (indexes into it) stay valid while the catalog changes.
        var children = _tree.Snapshot(dir);
        var entries = new (string, ulong, bool)[children.Length + 2];
        entries[0] = (".", dir.Id, true);
        entries[1] = ("..", FuseConstants.RootNodeId, true); // the tree is two levels deep: every parent is the root
        for (int i = 0; i < children.Length; i++) entries[i + 2] = (children[i].Name, children[i].Node.Id, children[i].Node.IsDirectory);

        ulong fh = NewHandleId();
        _directories[fh] = new DirectoryHandle(entries);
        _channel.Reply(header.Unique, new FuseOpenOut { Fh = fh });
    }

    private void ReadDir(in FuseInHeader header, ReadOnlySpan<byte> body, byte[] reply)
    {
        var request = ReadBody<FuseIoIn>(body);
        if (!_directories.TryGetValue(request.Fh, out var handle))
        {
            _channel.ReplyError(header.Unique, Errno.EBADF);
            return;
        }
        int headerSize = Unsafe.SizeOf<FuseOutHeader>();
        int direntSize = Unsafe.SizeOf<FuseDirent>();
        var space = reply.AsSpan(headerSize, (int)Math.Min(request.Size, (uint)(reply.Length - headerSize)));
        int used = 0;
        // The offset is a cookie this server handed out (an index); any other value, however large, is past the end.
        for (long i = request.Offset < (ulong)handle.Entries.Length ? (long)request.Offset : handle.Entries.Length; i < handle.Entries.Length; i++)
        {
            var (name, ino, isDirectory) = handle.Entries[i];
            int nameLength = Encoding.UTF8.GetByteCount(name);
            int recordLength = (direntSize + nameLength + 7) & ~7; // FUSE_DIRENT_ALIGN
            if (used + recordLength > space.Length) break;
            var record = space.Slice(used, recordLength);
            record.Clear();
            // off is the cookie the kernel hands back to continue after this entry.
            MemoryMarshal.Write(record, new FuseDirent {
                Ino = ino,
                Off = (ulong)(i + 1),
                NameLen = (uint)nameLength,
                Type = isDirectory ? FuseConstants.DtDir : FuseConstants.DtReg,
            });
            Encoding.UTF8.GetBytes(name, record[direntSize..]);
            used += recordLength;
        }
        _channel.ReplyBuffer(header.Unique, reply, used);
    }

    private void ReleaseDir(in FuseInHeader header, ReadOnlySpan<byte> body)
    {
        _directories.TryRemove(ReadBody<FuseReleaseIn>(body).Fh, out _);
        _channel.ReplyOk(header.Unique);
    }
}
