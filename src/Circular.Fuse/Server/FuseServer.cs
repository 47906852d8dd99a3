using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Circular.Core.Errors;
using Circular.Fuse.Native;
using Circular.Fuse.Protocol;
using Circular.Fuse.Tree;
using Circular.Imaging.Catalog;
using Circular.Imaging.Images;
using Microsoft.Extensions.Logging;

namespace Circular.Fuse.Server;

/// <summary>Why the server stopped reading.</summary>
internal enum ServerExit { Unmounted, Stopped, Failed }

/// <summary>
/// Serves FUSE requests on a few dedicated threads that all read the same /dev/fuse fd. Each thread handles the
/// request it read to completion and replies itself, so a WRITE's data is used in place and a READ is filled
/// straight into the reply buffer: the per-thread buffers are the only memory the data path touches.
/// The opcode handlers live in partial files named for their group.
/// </summary>
internal sealed partial class FuseServer
{
    private static readonly TimeSpan EntryTimeout = TimeSpan.FromSeconds(1);

    private readonly FuseChannel _channel;
    private readonly FuseTree _tree;
    private readonly IImageCatalog _catalog;
    private readonly NodeOwner _owner;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<ulong, FileHandle> _files = new();
    private readonly ConcurrentDictionary<ulong, DirectoryHandle> _directories = new();
    private readonly TaskCompletionSource _initialized = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<ServerExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextHandle;
    private int _running;
    private int _exitReason = -1;

    public FuseServer(FuseChannel channel, FuseTree tree, IImageCatalog catalog, NodeOwner owner, ILogger log)
    {
        _channel = channel;
        _tree = tree;
        _catalog = catalog;
        _owner = owner;
        _log = log;
    }

    /// <summary>Completes when the kernel answered INIT: the mount is then usable.</summary>
    public Task Initialized => _initialized.Task;

    /// <summary>Completes once every reader thread has exited and all open handles were released.</summary>
    public Task<ServerExit> Exited => _exited.Task;

    public void Start(int threads)
    {
        _running = threads;
        for (int i = 0; i < threads; i++)
        {
            var thread = new Thread(ReaderLoop) { IsBackground = true, Name = $"fuse-reader-{i}" };
            thread.Start();
        }
    }

    /// <summary>Makes every reader exit at its next poll, whether or not the kernel still has the mount.</summary>
    public void Stop()
    {
        Interlocked.CompareExchange(ref _exitReason, (int)ServerExit.Stopped, -1);
        _channel.Wake();
    }

    private void ReaderLoop()
    {
        // Rented once per thread, not per request: a request buffer must hold the largest WRITE, and a reply
        // buffer the 16-byte header plus the largest READ.
        byte[] request = ArrayPool<byte>.Shared.Rent(FuseConstants.RequestBufferSize);
        byte[] reply = ArrayPool<byte>.Shared.Rent(FuseConstants.MaxRead + 4096);
        var exit = ServerExit.Failed;
        try
        {
            while (true)
            {
                var result = _channel.Read(request, out int length, out int errno);
                if (result == FuseChannel.ReadResult.Retry) continue;
                if (result == FuseChannel.ReadResult.Request)
                {
                    Dispatch(request, length, reply);
                    continue;
                }
                exit = result switch {
                    FuseChannel.ReadResult.Unmounted => ServerExit.Unmounted,
                    FuseChannel.ReadResult.Woken => ServerExit.Stopped,
                    _ => ServerExit.Failed,
                };
                if (result == FuseChannel.ReadResult.Failed) _log.ReadFailed(Libc.Describe(errno));
                break;
            }
        }
        catch (Exception e)
        {
            _log.ReaderCrashed(e.ToString());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(request);
            ArrayPool<byte>.Shared.Return(reply);
            Interlocked.CompareExchange(ref _exitReason, (int)exit, -1);
            // One reader leaving for any reason takes the others with it.
            _channel.Wake();
            if (Interlocked.Decrement(ref _running) == 0) _ = FinishAsync();
        }
    }

    private async Task FinishAsync()
    {
        _stopping.Cancel();
        _initialized.TrySetException(new FuseMountException("the kernel never sent FUSE INIT"));
        // The kernel will send no RELEASE for handles still open: close them ourselves so images are disposed.
        foreach (var fh in _files.Keys)
        {
            if (!_files.TryRemove(fh, out var handle)) continue;
            try
            {
                await handle.Node.ReleaseAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _log.CloseFailed(handle.Node.Entry.Name, e.Message);
            }
        }
        _directories.Clear();
        _exited.TrySetResult((ServerExit)Volatile.Read(ref _exitReason));
    }

    private void Dispatch(byte[] request, int length, byte[] reply)
    {
        if (length < Unsafe.SizeOf<FuseInHeader>()) return;
        var header = MemoryMarshal.Read<FuseInHeader>(request);
        var body = request.AsSpan(Unsafe.SizeOf<FuseInHeader>(), length - Unsafe.SizeOf<FuseInHeader>());
        var opcode = (FuseOpcode)header.Opcode;
        try
        {
            switch (opcode)
            {
                case FuseOpcode.Init: Init(header, body); break;
                case FuseOpcode.Lookup: Lookup(header, body); break;
                case FuseOpcode.Forget or FuseOpcode.BatchForget or FuseOpcode.Interrupt: break; // no reply
                case FuseOpcode.GetAttr: GetAttr(header); break;
                case FuseOpcode.SetAttr: SetAttr(header, body); break;
                case FuseOpcode.Open: Open(header, body); break;
                case FuseOpcode.Read: Read(header, body, reply); break;
                case FuseOpcode.Write: Write(header, request, length); break;
                case FuseOpcode.Flush or FuseOpcode.Fsync: Flush(header, body); break;
                case FuseOpcode.Release: Release(header, body); break;
                case FuseOpcode.OpenDir: OpenDir(header); break;
                case FuseOpcode.ReadDir: ReadDir(header, body, reply); break;
                case FuseOpcode.ReleaseDir: ReleaseDir(header, body); break;
                case FuseOpcode.StatFs: StatFs(header); break;
                case FuseOpcode.Access or FuseOpcode.Destroy: _channel.ReplyOk(header.Unique); break;
                default: _channel.ReplyError(header.Unique, Errno.ENOSYS); break;
            }
        }
        catch (Exception e)
        {
            int errno = ErrnoFor(e);
            if (errno == Errno.EIO) _log.RequestFailed(opcode.ToString(), header.NodeId, e.Message);
            _channel.ReplyError(header.Unique, errno);
        }
    }

    /// <summary>The FUSE side of the one failure classification (NBD has the same table in NbdErrors).</summary>
    internal static int ErrnoFor(Exception e) => Failures.Classify(e) switch {
        ErrorKind.NotFound => Errno.ENOENT,
        ErrorKind.ReadOnly => Errno.EROFS,
        ErrorKind.Usage => Errno.EINVAL,
        ErrorKind.NotSupported => Errno.EOPNOTSUPP,
        ErrorKind.Cancelled => Errno.EINTR,
        ErrorKind.OutOfMemory => Errno.ENOMEM,
        ErrorKind.NoSpace => Errno.ENOSPC,
        _ => Errno.EIO,
    };

    private ulong NewHandleId() => (ulong)Interlocked.Increment(ref _nextHandle);

    private static (ulong Seconds, uint Nanos) Split(TimeSpan t) =>
        ((ulong)t.Ticks / TimeSpan.TicksPerSecond, (uint)(t.Ticks % TimeSpan.TicksPerSecond * 100));

    private static T ReadBody<T>(ReadOnlySpan<byte> body) where T : unmanaged
    {
        // Shorter bodies come from older kernels; the missing tail reads as zeros.
        if (body.Length >= Unsafe.SizeOf<T>()) return MemoryMarshal.Read<T>(body);
        Span<byte> padded = stackalloc byte[Unsafe.SizeOf<T>()];
        padded.Clear();
        body.CopyTo(padded);
        return MemoryMarshal.Read<T>(padded);
    }

    private sealed record FileHandle(FileNode Node, IBlockImage Image);

    private sealed record DirectoryHandle((string Name, ulong Ino, bool IsDirectory)[] Entries);
}
