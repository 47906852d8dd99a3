using System.Net.Sockets;
using System.Runtime.InteropServices;
using Circular.Core.Errors;
using Circular.Imaging.Images;

namespace Circular.Nbd.Kernel;

/// <summary>
/// An image attached as a Linux block device (/dev/nbdN) through the kernel's own NBD client, with Circular's server in
/// this process at the other end of a socket pair: what nbd-client does, without a network connection or a handshake
/// (the ioctl interface goes straight to the transmission phase). The kernel never sees the network, so an outage only
/// makes requests wait in Circular, which retries; the device itself has no timeout.
/// </summary>
public sealed class KernelNbdDevice : IAsyncDisposable
{
    /// <summary>The logical block size given to the kernel: 512 lets file systems of any block size (1 KiB ext4 too) mount.</summary>
    public const int BlockSize = 512;

    private readonly int _deviceFd;
    private readonly Thread _doIt;
    private readonly Task _serving;
    private readonly CancellationTokenSource _stop;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    private KernelNbdDevice(string path, int deviceFd, Thread doIt, Task serving, CancellationTokenSource stop)
    {
        Device = path;
        _deviceFd = deviceFd;
        _doIt = doIt;
        _serving = serving;
        _stop = stop;
    }

    /// <summary>The block device, e.g. /dev/nbd0.</summary>
    public string Device { get; }

    /// <summary>Completes when the kernel lets go of the device (disconnect, or the device was torn down).</summary>
    public Task Ended => _ended.Task;

    /// <summary>
    /// Attaches <paramref name="image"/> to <paramref name="device"/> (the nbd module must be loaded) and returns once the
    /// kernel serves it. Read-only images give a read-only device. The image is disposed when the device is detached.
    /// </summary>
    public static async Task<KernelNbdDevice> AttachAsync(string device, string name, IBlockImage image, NbdServerOptions options, CancellationToken ct)
    {
        if (!File.Exists(device) && !Directory.Exists("/sys/block/" + Path.GetFileName(device)))
            throw new NotFoundException($"{device} does not exist: load the kernel's NBD driver first (modprobe nbd)");
        long blocks = image.Size / BlockSize;
        if (blocks == 0) throw new UsageException($"{name} is smaller than one {BlockSize}-byte block");
        int fd = NbdIoctl.Open(device);
        var pair = NbdIoctl.SocketPair();
        var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Socket? ours = null;
        try
        {
            NbdIoctl.Call(fd, NbdIoctl.ClearSock, 0, device); // a device left over by a killed attach
            NbdIoctl.Call(fd, NbdIoctl.SetBlockSize, BlockSize, device);
            NbdIoctl.Call(fd, NbdIoctl.SetSizeBlocks, (ulong)blocks, device);
            NbdIoctl.Call(fd, NbdIoctl.SetFlags, NbdServer.KernelFlags(image), device);
            NbdIoctl.Call(fd, NbdIoctl.SetSocket, (ulong)pair.Kernel, device);
            ours = new Socket(new SafeSocketHandle(pair.Ours, ownsHandle: true));
            var server = new NbdServer(new Catalog.NoCatalog(), options);
            var serving = server.ServeExportAsync(new NetworkStream(ours, ownsSocket: true), name, image, stop.Token);
            KernelNbdDevice? self = null;
            var thread = new Thread(() => self!.RunDoIt()) { IsBackground = true, Name = "nbd DO_IT " + device };
            self = new KernelNbdDevice(device, fd, thread, serving, stop);
            thread.Start();
            // NBD_DO_IT blocks for the device's whole life; the device is usable once its size shows in sysfs.
            await WaitForSizeAsync(device, self.Ended, ct).ConfigureAwait(false);
            NbdIoctl.Close(pair.Kernel); // the kernel holds its own reference
            return self;
        }
        catch
        {
            stop.Cancel();
            NbdIoctl.TryCall(fd, NbdIoctl.Disconnect);
            if (ours is null) NbdIoctl.Close(pair.Ours);
            NbdIoctl.Close(pair.Kernel);
            NbdIoctl.Close(fd);
            throw;
        }
    }

    /// <summary>
    /// The thread that lends itself to the kernel. Every signal is blocked on it first: any signal delivered to the
    /// thread inside NBD_DO_IT (even one with a handler) makes the kernel tear the device down under the mounted root.
    /// </summary>
    private void RunDoIt()
    {
        NbdIoctl.BlockAllSignals();
        int rc = NbdIoctl.DoIt(_deviceFd, out int errno);
        if (rc < 0 && Volatile.Read(ref _disposed) == 0)
            _ended.TrySetException(new CircularException($"{Device}: the kernel ended the NBD session ({NbdIoctl.Describe(errno)})"));
        NbdIoctl.TryCall(_deviceFd, NbdIoctl.ClearQueue);
        NbdIoctl.TryCall(_deviceFd, NbdIoctl.ClearSock);
        _ended.TrySetResult();
    }

    private static async Task WaitForSizeAsync(string device, Task ended, CancellationToken ct)
    {
        string size = $"/sys/block/{Path.GetFileName(device)}/size";
        for (int i = 0; ; i++)
        {
            if (ended.IsCompleted) await ended.ConfigureAwait(false);
            if (File.Exists(size) && long.TryParse((await File.ReadAllTextAsync(size, ct).ConfigureAwait(false)).Trim(), out long sectors) && sectors > 0)
                return;
            if (i > 300) throw new CircularException($"{device}: the kernel did not start the NBD session within 30 s");
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Detaches: asks the kernel to disconnect (the file systems on the device must be unmounted first).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        NbdIoctl.TryCall(_deviceFd, NbdIoctl.Disconnect);
        await Task.WhenAny(Ended, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        _stop.Cancel();
        try { await _serving.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _doIt.Join(TimeSpan.FromSeconds(5));
        NbdIoctl.Close(_deviceFd);
        _stop.Dispose();
    }
}
