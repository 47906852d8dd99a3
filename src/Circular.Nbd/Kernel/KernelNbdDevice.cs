using System.Net.Sockets;
using Circular.Core.Errors;
using Circular.Imaging.Images;

namespace Circular.Nbd.Kernel;

/// <summary>
/// An image attached as a Linux block device (/dev/nbdN) through the kernel's own NBD client, configured over netlink,
/// with Circular's server in this process at the other end of a socket pair: what nbd-client does, without a network
/// connection or a handshake. The kernel never sees the network, so an outage only makes requests wait in Circular,
/// which retries; the device has no timeout. Signals to this process (systemd sends SIGSTOP and SIGCONT to every
/// process at shutdown) do not touch the device: no thread of ours sits in the kernel for it.
/// </summary>
public sealed class KernelNbdDevice : IAsyncDisposable
{
    /// <summary>The logical block size given to the kernel: 512 lets file systems of any block size (1 KiB ext4 too) mount.</summary>
    public const int BlockSize = 512;

    private readonly int _index;
    private readonly Task _serving;
    private readonly CancellationTokenSource _stop;
    private int _disposed;

    private KernelNbdDevice(string path, int index, Task serving, CancellationTokenSource stop)
    {
        Device = path;
        _index = index;
        _serving = serving;
        _stop = stop;
    }

    /// <summary>The block device, e.g. /dev/nbd0.</summary>
    public string Device { get; }

    /// <summary>Completes when the kernel lets go of the device (disconnected, or torn down).</summary>
    public Task Ended => _serving;

    /// <summary>
    /// Attaches <paramref name="image"/> to <paramref name="device"/> (the nbd module must be loaded) and returns once the
    /// kernel serves it. Read-only images give a read-only device. The image is disposed when the device is detached.
    /// </summary>
    public static async Task<KernelNbdDevice> AttachAsync(string device, string name, IBlockImage image, NbdServerOptions options, CancellationToken ct)
    {
        string node = Path.GetFileName(device);
        if (!node.StartsWith("nbd", StringComparison.Ordinal) || !int.TryParse(node[3..], out int index))
            throw new UsageException($"{device} is not an NBD device (/dev/nbdN)");
        if (!File.Exists(device) && !Directory.Exists("/sys/block/" + node))
            throw new NotFoundException($"{device} does not exist: load the kernel's NBD driver first (modprobe nbd)");
        long blocks = image.Size / BlockSize;
        if (blocks == 0) throw new UsageException($"{name} is smaller than one {BlockSize}-byte block");
        var pair = LinuxSockets.SocketPair();
        var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var ours = new Socket(new SafeSocketHandle(pair.Ours, ownsHandle: true));
        // Serving first: the kernel reads the partition table as soon as it is connected.
        var server = new NbdServer(new Catalog.NoCatalog(), options);
        var serving = server.ServeExportAsync(new NetworkStream(ours, ownsSocket: true), name, image, stop.Token);
        try
        {
            NbdNetlink.Connect(index, blocks * BlockSize, BlockSize, NbdServer.KernelFlags(image), pair.Kernel, device);
            var self = new KernelNbdDevice(device, index, serving, stop);
            await WaitForSizeAsync(device, serving, ct).ConfigureAwait(false);
            return self;
        }
        catch
        {
            stop.Cancel();
            throw;
        }
        finally
        {
            LinuxSockets.Close(pair.Kernel); // the kernel holds its own reference
        }
    }

    private static async Task WaitForSizeAsync(string device, Task ended, CancellationToken ct)
    {
        string size = $"/sys/block/{Path.GetFileName(device)}/size";
        for (int i = 0; ; i++)
        {
            if (ended.IsCompleted) throw new CircularException($"{device}: the kernel closed the NBD connection at once");
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
        try { NbdNetlink.Disconnect(_index, Device); }
        catch (CircularException) { } // already gone
        await Task.WhenAny(_serving, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        _stop.Cancel();
        try { await _serving.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
