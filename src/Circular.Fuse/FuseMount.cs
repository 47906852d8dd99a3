using System.Runtime.InteropServices;
using Circular.Fuse.Mounting;
using Circular.Fuse.Native;
using Circular.Fuse.Server;
using Circular.Fuse.Tree;
using Circular.Imaging.Catalog;
using Microsoft.Extensions.Logging;

namespace Circular.Fuse;

/// <summary>
/// A catalog mounted as a FUSE file system: MOUNTPOINT/&lt;image&gt;/&lt;selector&gt;.img for every export.
/// Lives until unmounted by <see cref="UnmountAsync"/>, <c>umount</c> or <c>fusermount3 -u</c>; a watchdog process
/// unmounts it lazily if this process dies without doing so (even by SIGKILL).
/// </summary>
public sealed class FuseMount : IAsyncDisposable
{
    /// <summary>How long a lazily detached mount that is still in use (open files, a loop device) may keep
    /// serving after <see cref="UnmountAsync"/> before the connection is cut.</summary>
    private static readonly TimeSpan DetachGrace = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan InitTimeout = TimeSpan.FromSeconds(15);

    private readonly FuseServer _server;
    private readonly FuseChannel _channel;
    private readonly UnmountWatchdog? _watchdog;
    private readonly bool _viaFusermount;
    private readonly ILogger _log;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _detachGate = new();
    private bool _detached;
    private Task? _unmounting;

    private FuseMount(string mountPoint, FuseServer server, FuseChannel channel, UnmountWatchdog? watchdog, bool viaFusermount, ILogger log)
    {
        MountPoint = mountPoint;
        _server = server;
        _channel = channel;
        _watchdog = watchdog;
        _viaFusermount = viaFusermount;
        _log = log;
    }

    /// <summary>The canonical (absolute, symlink-free) path the file system is mounted on.</summary>
    public string MountPoint { get; }

    /// <summary>Completes once the file system is unmounted, by whoever, and every open image is disposed.</summary>
    public Task Completion => _completion.Task;

    /// <summary>
    /// Mounts <paramref name="catalog"/> on <paramref name="mountPoint"/> (an existing, empty directory that is not a mount
    /// point). As root this uses mount(2) directly; otherwise fusermount3. Returns once the kernel has finished INIT.
    /// </summary>
    /// <exception cref="FuseMountException">/dev/fuse is missing, the mountpoint is unusable, or permission is denied.</exception>
    public static async Task<FuseMount> MountAsync(IImageCatalog catalog, string mountPoint, FuseMountOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var log = options.Log;

        string canonical = MountPointCheck.Validate(mountPoint);
        var tree = new FuseTree(catalog, log);
        // List once before touching the kernel, so a broken catalog fails the mount rather than the first ls.
        await tree.RefreshIfStaleAsync(ct).ConfigureAwait(false);

        var request = new MountRequest(canonical, options.Writable, options.AllowOther);
        bool viaFusermount = Libc.GetEuid() != 0;
        int fd = viaFusermount ? FusermountMounter.Mount(request) : KernelMounter.Mount(request);
        FuseChannel channel;
        try
        {
            channel = new FuseChannel(fd, log);
        }
        catch
        {
            Detach(canonical, viaFusermount);
            Libc.Close(fd);
            throw;
        }

        var watchdog = UnmountWatchdog.Start(canonical, log);
        var owner = new NodeOwner(Libc.GetUid(), Libc.GetGid(), options.Writable);
        var server = new FuseServer(channel, tree, catalog, owner, log);
        var mount = new FuseMount(canonical, server, channel, watchdog, viaFusermount, log);
        AppDomain.CurrentDomain.ProcessExit += mount.OnProcessExit;
        _ = mount.FinishWhenServerExitsAsync();
        server.Start(Math.Clamp(Environment.ProcessorCount, 4, 8));

        try
        {
            await server.Initialized.WaitAsync(InitTimeout, ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await mount.UnmountAsync().ConfigureAwait(false);
            if (e is TimeoutException) throw new FuseMountException($"mounting {canonical}: the kernel did not start the FUSE session");
            throw;
        }
        log.Mounted(canonical, options.Writable ? "read-write" : "read-only");
        return mount;
    }

    /// <summary>
    /// Unmounts (lazily, so it never fails with EBUSY) and waits until the server has stopped. A mount still in use
    /// after a short grace period is cut off. Safe to call more than once and after an external unmount.
    /// </summary>
    public Task UnmountAsync()
    {
        lock (_detachGate) return _unmounting ??= UnmountCoreAsync();
    }

    public ValueTask DisposeAsync() => new(UnmountAsync());

    /// <summary>
    /// Unmounts when the process gets SIGINT, SIGTERM or SIGHUP, cancelling the default termination so that
    /// <see cref="Completion"/> can finish; meant for a foreground <c>circular mount</c>. Dispose to stop listening.
    /// </summary>
    public IDisposable UnmountOnSignals()
    {
        var registrations = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }
            .Select(signal => PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                _log.UnmountingOnSignal(context.Signal.ToString(), MountPoint);
                _ = UnmountAsync();
            }))
            .ToArray();
        return new Registrations(registrations);
    }

    private async Task UnmountCoreAsync()
    {
        if (!Completion.IsCompleted) DetachOnce();
        if (await Task.WhenAny(Completion, Task.Delay(DetachGrace)).ConfigureAwait(false) != Completion)
        {
            _log.StillInUse(MountPoint, (int)DetachGrace.TotalSeconds);
            _server.Stop();
        }
        await Completion.ConfigureAwait(false);
    }

    private async Task FinishWhenServerExitsAsync()
    {
        var exit = await _server.Exited.ConfigureAwait(false);
        // ENODEV means the kernel already unmounted us. Otherwise the mount may still be attached, and closing the
        // fd first would leave it dead ("Transport endpoint is not connected"): detach, then close.
        if (exit != ServerExit.Unmounted) DetachOnce();
        _channel.Dispose();
        _watchdog?.Disarm();
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        _log.Unmounted(MountPoint, exit == ServerExit.Failed ? " after an error" : "");
        _completion.TrySetResult();
    }

    private void DetachOnce()
    {
        lock (_detachGate)
        {
            if (_detached) return;
            _detached = true;
        }
        int errno = Detach(MountPoint, _viaFusermount);
        // EINVAL: no longer a mount point, because someone ran umount first.
        if (errno is not (0 or Errno.EINVAL or Errno.ENOENT)) _log.UnmountFailed(MountPoint, Libc.Describe(errno));
    }

    private static int Detach(string mountPoint, bool viaFusermount) =>
        viaFusermount ? FusermountMounter.Detach(mountPoint) : KernelMounter.Detach(mountPoint);

    /// <summary>Normal exit and SIGTERM run this; it must be synchronous and quick.</summary>
    private void OnProcessExit(object? sender, EventArgs e)
    {
        DetachOnce();
        _server.Stop();
        Completion.Wait(TimeSpan.FromSeconds(2));
    }

    private sealed class Registrations(PosixSignalRegistration[] registrations) : IDisposable
    {
        public void Dispose()
        {
            foreach (var registration in registrations) registration.Dispose();
        }
    }
}
