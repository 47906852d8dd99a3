using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Circular.Fuse.Native;
using Circular.Fuse.Protocol;
using Circular.Fuse.Tree;

namespace Circular.Fuse.Server;

// Image file requests: OPEN, READ, WRITE, FLUSH/FSYNC, RELEASE. READ and WRITE are the hot path: no allocation.
internal sealed partial class FuseServer
{
    private const uint O_ACCMODE = 3;

    private void Open(in FuseInHeader header, ReadOnlySpan<byte> body)
    {
        var node = _tree.Find(header.NodeId);
        if (node is not FileNode file)
        {
            _channel.ReplyError(header.Unique, node is null ? Errno.ENOENT : Errno.EISDIR);
            return;
        }
        var request = ReadBody<FuseOpenIn>(body);
        bool wantsWrite = (request.Flags & O_ACCMODE) != 0;
        if (wantsWrite && !_owner.Writable)
        {
            _channel.ReplyError(header.Unique, Errno.EROFS);
            return;
        }

        var image = Blocking.Wait(file.AcquireAsync(_catalog, _owner.Writable, _stopping.Token));
        if (wantsWrite && !image.IsWritable)
        {
            Blocking.Wait(new ValueTask(file.ReleaseAsync()));
            _channel.ReplyError(header.Unique, Errno.EROFS);
            return;
        }
        ulong fh = NewHandleId();
        _files[fh] = new FileHandle(file, image);
        // A read-only image never changes, so the kernel may keep its pages across opens.
        var reply = new FuseOpenOut { Fh = fh, OpenFlags = image.IsWritable ? 0 : FuseConstants.FopenKeepCache };
        _channel.Reply(header.Unique, reply);
    }

    private void Read(in FuseInHeader header, ReadOnlySpan<byte> body, byte[] reply)
    {
        var request = ReadBody<FuseIoIn>(body);
        if (!_files.TryGetValue(request.Fh, out var handle))
        {
            _channel.ReplyError(header.Unique, Errno.EBADF);
            return;
        }
        // Clamp to the image: a read at or past the end is a short (possibly empty) read, not an error.
        long size = handle.Image.Size;
        long offset = (long)Math.Min(request.Offset, (ulong)size);
        int headerSize = Unsafe.SizeOf<FuseOutHeader>();
        int count = (int)Math.Min(Math.Min(request.Size, size - offset), reply.Length - headerSize);
        if (count > 0) Blocking.Wait(handle.Image.ReadAsync(offset, reply.AsMemory(headerSize, count), _stopping.Token));
        _channel.ReplyBuffer(header.Unique, reply, count);
    }

    private void Write(in FuseInHeader header, byte[] request, int length)
    {
        int headerSize = Unsafe.SizeOf<FuseInHeader>();
        int dataStart = headerSize + Unsafe.SizeOf<FuseIoIn>();
        var io = MemoryMarshal.Read<FuseIoIn>(request.AsSpan(headerSize));
        if (!_files.TryGetValue(io.Fh, out var handle))
        {
            _channel.ReplyError(header.Unique, Errno.EBADF);
            return;
        }
        if (!handle.Image.IsWritable)
        {
            _channel.ReplyError(header.Unique, Errno.EROFS);
            return;
        }
        long size = handle.Image.Size;
        if (io.Offset >= (ulong)size)
        {
            _channel.ReplyError(header.Unique, Errno.EFBIG);
            return;
        }
        // A write straddling the end is cut short: the caller sees a short write, then EFBIG on the rest.
        int count = (int)Math.Min(Math.Min(io.Size, (ulong)(length - dataStart)), (ulong)(size - (long)io.Offset));
        Blocking.Wait(handle.Image.WriteAsync((long)io.Offset, request.AsMemory(dataStart, count), _stopping.Token));
        _channel.Reply(header.Unique, new FuseWriteOut { Size = (uint)count });
    }

    /// <summary>FLUSH comes on every close(2) and FSYNC on fsync(2); both make completed writes durable.</summary>
    private void Flush(in FuseInHeader header, ReadOnlySpan<byte> body)
    {
        var request = ReadBody<FuseFhIn>(body);
        if (_files.TryGetValue(request.Fh, out var handle) && handle.Image.IsWritable)
            Blocking.Wait(handle.Image.FlushAsync(_stopping.Token));
        _channel.ReplyOk(header.Unique);
    }

    private void Release(in FuseInHeader header, ReadOnlySpan<byte> body)
    {
        var request = ReadBody<FuseReleaseIn>(body);
        if (_files.TryRemove(request.Fh, out var handle))
        {
            // Waited for, so that once the last close is answered the image is flushed and disposed.
            Blocking.Wait(new ValueTask(handle.Node.ReleaseAsync()));
        }
        _channel.ReplyOk(header.Unique);
    }
}
