using System.Buffers.Binary;
using Circular.Fuse.Native;
using Circular.Fuse.Server;
using Circular.Fuse.Tree;
using Circular.Imaging.Catalog;
using Circular.Imaging.Images;
using Microsoft.Extensions.Logging.Abstractions;

namespace Circular.Fuzz;

/// <summary>
/// A whole FUSE session: the input is what the kernel sends on /dev/fuse, cut into messages by each one's own length
/// field (a length that does not fit takes the rest), fed over a SOCK_SEQPACKET socketpair (which keeps message
/// boundaries as /dev/fuse does) to the real server over a small writable image. The server must answer or drop
/// each message, exit cleanly when the "kernel" hangs up, frame every reply exactly, and never hit a programming error
/// on the way (a request that fails is answered with an errno, so such errors are caught as they are thrown).
/// </summary>
internal static unsafe class FuseSession
{
    private const int SOCK_SEQPACKET = 5;
    private const int HeaderSize = 40;
    private static readonly string s_image = CreateImage();
    private static Exception? s_bug;

    private static string CreateImage()
    {
        string path = Path.Combine(Path.GetTempPath(), $"circular-fuzz-fuse-{Environment.ProcessId}.img");
        using (var f = File.Create(path)) f.SetLength(1 << 20);
        // Programming errors, wherever the server's threads catch them: the only way they reach the fuzzer.
        AppDomain.CurrentDomain.FirstChanceException += (_, e) =>
        {
            if (e.Exception is IndexOutOfRangeException or NullReferenceException or OverflowException or InvalidCastException
                or DivideByZeroException or ArgumentOutOfRangeException)
                Interlocked.CompareExchange(ref s_bug, e.Exception, null);
        };
        return path;
    }

    public static void Run(byte[] input)
    {
        s_bug = null;
        var image = LocalImageFile.Open(s_image);
        int* fds = stackalloc int[2];
        if (Libc.SocketPair(Libc.AF_UNIX, SOCK_SEQPACKET | Libc.O_CLOEXEC, 0, fds) != 0) throw new IOException("socketpair failed");
        int kernel = fds[0];
        var catalog = new SingleImageCatalog("disk", image);
        var log = NullLogger.Instance;
        var channel = new FuseChannel(fds[1], log);
        var server = new FuseServer(channel, new FuseTree(catalog, log), catalog, new NodeOwner(0, 0, Writable: true), log);
        server.Start(1); // one reader: the same input takes the same path (AFL++ needs that more than concurrency)
        var replies = new Thread(() => DrainReplies(kernel)) { IsBackground = true };
        replies.Start();
        try
        {
            for (int at = 0; at < input.Length;)
            {
                int declared = input.Length - at >= 4 ? (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(input.AsSpan(at)), int.MaxValue) : 0;
                int length = declared >= 1 && declared <= input.Length - at ? declared : input.Length - at;
                // A server that stopped reading (it may, on bad input) must not block the session forever.
                var poll = new Libc.PollFd { Fd = kernel, Events = PollOut };
                if (Libc.Poll(&poll, 1, 5000) <= 0 || (poll.Revents & PollOut) == 0) break;
                fixed (byte* p = &input[at])
                    if (Libc.Write(kernel, p, length) != length) break;
                at += length;
            }
            Shutdown(kernel, ShutWrite); // the kernel hangs up: the server reads end-of-file
            if (!server.Exited.Wait(TimeSpan.FromSeconds(10))) throw new TimeoutException("the FUSE server did not stop after the kernel hung up");
            if (server.Exited.Result != ServerExit.Unmounted) throw new InvalidOperationException($"the FUSE server ended {server.Exited.Result}");
        }
        finally
        {
            channel.Dispose(); // ends the reply stream
            replies.Join(TimeSpan.FromSeconds(10));
            Libc.Close(kernel);
            image.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        if (s_replyError is { } framing) throw new InvalidDataException(framing);
        if (s_bug is { } bug) throw new InvalidOperationException("programming error while serving FUSE requests", bug);
    }

    private const short PollOut = 4;
    private const int ShutWrite = 1;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    private static extern int Shutdown(int fd, int how);

    private static string? s_replyError;

    /// <summary>Reads every reply (so the server never blocks on a full socket) and checks each one's framing.</summary>
    private static void DrainReplies(int kernel)
    {
        s_replyError = null;
        byte[] buffer = new byte[(2 << 20) + 4096];
        while (true)
        {
            nint n;
            fixed (byte* p = buffer) n = Libc.Read(kernel, p, buffer.Length);
            if (n <= 0) return;
            if (n < 16 || BinaryPrimitives.ReadUInt32LittleEndian(buffer) != n)
                s_replyError ??= $"a reply of {n} bytes declares {(n >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(buffer) : 0)}";
        }
    }
}
