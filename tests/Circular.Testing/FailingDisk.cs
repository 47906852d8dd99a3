using System.Diagnostics;

namespace Circular.Testing;

/// <summary>What <see cref="FailingDisk"/> fails with EIO.</summary>
public enum DiskFault { None, Reads, Writes, All }

/// <summary>
/// A directory on a disk that fails with EIO on command: failfs.py (a FUSE pass-through, python3-fusepy) over a
/// backing directory. Stands in for dm-error and dm-flakey, which need device-mapper the test machines lack.
/// </summary>
public sealed class FailingDisk : IAsyncDisposable
{
    private readonly BackgroundProcess _fs;
    private readonly string _control;

    private FailingDisk(BackgroundProcess fs, string path, string control)
    {
        _fs = fs;
        Path = path;
        _control = control;
    }

    /// <summary>The mounted directory: use it as an archive, cache or overlay directory.</summary>
    public string Path { get; }

    /// <summary>Mounts a failing disk at <paramref name="dir"/>/mnt over <paramref name="dir"/>/backing.</summary>
    public static async Task<FailingDisk> MountAsync(string dir)
    {
        string backing = Directory.CreateDirectory(System.IO.Path.Combine(dir, "backing")).FullName;
        string mnt = Directory.CreateDirectory(System.IO.Path.Combine(dir, "mnt")).FullName;
        string control = System.IO.Path.Combine(dir, "fault");
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { System.IO.Path.Combine(AppContext.BaseDirectory, "failfs.py"), backing, mnt, control }) psi.ArgumentList.Add(a);
        var fs = BackgroundProcess.Start(psi, "failfs");
        var clock = Stopwatch.StartNew();
        while (!Mounts.IsFuse(mnt))
        {
            if (fs.HasExited || clock.Elapsed > TimeSpan.FromSeconds(20))
                throw new Xunit.Sdk.XunitException($"failfs did not mount {mnt} (python3-fusepy installed?)\n{fs.Err}");
            await Task.Delay(50);
        }
        return new FailingDisk(fs, mnt, control);
    }

    /// <summary>From the next operation on, fail these with EIO.</summary>
    public void Fail(DiskFault fault) => File.WriteAllText(_control, fault switch {
        DiskFault.Reads => "read",
        DiskFault.Writes => "write",
        DiskFault.All => "all",
        _ => "",
    });

    public async ValueTask DisposeAsync()
    {
        Fail(DiskFault.None);
        Tools.Try("umount", "-l", Path);
        await _fs.WaitForExitAsync(TimeSpan.FromSeconds(15));
        await _fs.DisposeAsync();
    }
}
