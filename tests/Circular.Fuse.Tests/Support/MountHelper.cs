using System.Diagnostics;

namespace Circular.Fuse.Tests.Support;

/// <summary>
/// Runs this assembly's Main in helper mode (`dotnet exec Circular.Fuse.Tests.dll mount-helper MNT [signals]`) so a
/// test can kill the process that owns a mount. Disposing kills the helper and lazily unmounts whatever it left.
/// </summary>
internal sealed class MountHelper : IDisposable
{
    private readonly string _mountPoint;

    private MountHelper(Process process, string mountPoint)
    {
        Process = process;
        _mountPoint = mountPoint;
    }

    public Process Process { get; }
    public int Id => Process.Id;
    public int ExitCode => Process.ExitCode;

    /// <summary>Starts the helper and waits until it printed "MOUNTED".</summary>
    /// <param name="assembly">The helper assembly; a copy readable by other users when running as <paramref name="asUid"/>.</param>
    /// <param name="asUid">Run unprivileged (through setpriv) with this uid and gid, to exercise the fusermount3 path.</param>
    public static MountHelper Start(string mountPoint, string? mode = null, string? assembly = null, int? asUid = null)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : Tools.Locate("dotnet");
        var start = new ProcessStartInfo(asUid is null ? dotnet : Tools.Locate("setpriv")) {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        var args = new List<string>();
        if (asUid is { } uid)
        {
            string id = uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
            args.AddRange(["--reuid=" + id, "--regid=" + id, "--clear-groups", dotnet]);
            start.Environment["HOME"] = "/tmp";
            start.Environment["DOTNET_CLI_HOME"] = "/tmp";
        }
        args.AddRange(["exec", assembly ?? typeof(MountHelper).Assembly.Location, "mount-helper", mountPoint]);
        if (mode is not null) args.Add(mode);
        foreach (var arg in args) start.ArgumentList.Add(arg);

        var helper = new MountHelper(Process.Start(start)!, mountPoint);
        try
        {
            var stderr = helper.Process.StandardError.ReadToEndAsync();
            var line = helper.Process.StandardOutput.ReadLineAsync();
            bool ready = line.Wait(TimeSpan.FromSeconds(60)) && line.Result == "MOUNTED";
            Assert.True(ready, $"helper did not mount: {(stderr.Wait(TimeSpan.FromSeconds(2)) ? stderr.Result : "(no stderr)")}");
            return helper;
        }
        catch
        {
            helper.Dispose();
            throw;
        }
    }

    public void Kill() => Process.Kill(); // SIGKILL

    public void WaitForExit() => Process.WaitForExit();

    public bool WaitForExit(TimeSpan timeout) => Process.WaitForExit(timeout);

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited) Process.Kill();
            Process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Already reaped.
        }
        Process.Dispose();
        if (Mounts.IsFuse(_mountPoint)) Mounts.UnmountUnder(_mountPoint);
    }
}
