using Circular.Fuse.Tests.Support;

namespace Circular.Fuse.Tests;

/// <summary>
/// Without root, FuseMount falls back to fusermount3. The tests run as root, so the helper process drops to
/// nobody with setpriv; it runs from a copy of the build output that nobody can read.
/// </summary>
public sealed class NonRootTests
{
    private const int Nobody = 65534;
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(10);

    [Fact]
    public void Unprivileged_mount_goes_through_fusermount3_and_survives_kill_9()
    {
        using var temp = new Scratch();
        string mnt = PrepareMountPoint(temp);
        using var helper = MountHelper.Start(mnt, assembly: CopyBuildOutput(temp), asUid: Nobody);

        Assert.Equal("fuse.circular", Mounts.TypeAt(mnt));
        string md5 = Tools.Run("setpriv", $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "md5sum", Path.Combine(mnt, "os/1.img"));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(FakeCatalog.WithRandomVersions().Bytes(1))), md5.Split(' ')[0]);

        helper.Kill();
        helper.WaitForExit();

        Timed.WaitUntil(() => !Mounts.IsFuse(mnt), Recovery, "the watchdog to fusermount3 -u the mount");
        Tools.Run("ls", mnt);
    }

    [Fact]
    public void Unprivileged_mount_unmounts_on_sigterm()
    {
        using var temp = new Scratch();
        string mnt = PrepareMountPoint(temp);
        using var helper = MountHelper.Start(mnt, "signals", CopyBuildOutput(temp), Nobody);

        Tools.Run("kill", "-TERM", helper.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.True(helper.WaitForExit(Recovery), "helper did not exit after SIGTERM");
        Assert.Equal(0, helper.ExitCode);
        Assert.False(Mounts.IsFuse(mnt));
    }

    [Fact]
    public void Unprivileged_mount_on_a_directory_it_cannot_write_is_permission_denied()
    {
        using var temp = new Scratch();
        Tools.Run("chmod", "755", temp.Dir);
        string mnt = temp.NewDir("mnt"); // owned by root
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : Tools.Locate("dotnet");

        var run = Tools.Try("setpriv", $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups",
            "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", dotnet, "exec", CopyBuildOutput(temp), "mount-helper", mnt);

        Assert.NotEqual(0, run.Code);
        Assert.Contains($"FuseMountException: permission denied mounting {mnt}", run.Err);
        Assert.False(Mounts.IsFuse(mnt));
    }

    /// <summary>fusermount3 lets a user mount only on a directory it may write; the temp root must be traversable.</summary>
    private static string PrepareMountPoint(Scratch temp)
    {
        Tools.Run("chmod", "755", temp.Dir);
        string mnt = temp.NewDir("mnt");
        Tools.Run("chown", $"{Nobody}:{Nobody}", mnt);
        return mnt;
    }

    private static string CopyBuildOutput(Scratch temp)
    {
        string target = temp.NewDir("bin");
        foreach (var file in Directory.GetFiles(AppContext.BaseDirectory))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        Tools.Run("chmod", "-R", "a+rX", target);
        return Path.Combine(target, Path.GetFileName(typeof(NonRootTests).Assembly.Location));
    }
}
