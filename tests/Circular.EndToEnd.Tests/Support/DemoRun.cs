namespace Circular.EndToEnd.Tests.Support;

/// <summary>
/// One `circular demo -q` run for the whole class (it boots three guests). Its work directory is kept so the boot
/// test can reuse the demo's guest image and miniroot instead of building its own.
/// </summary>
public sealed class DemoRun : IAsyncLifetime
{
    private readonly Scratch _scratch = new();

    public string Work => _scratch["demo"];
    public RunResult Result { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Tools.Require("qemu-system-x86_64", "busybox", "mkfs.ext4", "debugfs", "cpio", "gzip", "modprobe");
        Assert.True(Directory.GetFiles("/boot", "vmlinuz-*").Length > 0, "no kernel in /boot: apt-get install linux-image-amd64");
        Result = await CircularCli.RunAsync(TimeSpan.FromMinutes(4), "demo", "-q", "--dir", Work, "--keep");
    }

    public Task DisposeAsync()
    {
        _scratch.Dispose();
        return Task.CompletedTask;
    }
}

public static class ByteSizes
{
    /// <summary>Parses ByteSize.Format output: "512 B", "10.9 MiB".</summary>
    public static long Parse(string text)
    {
        var parts = text.Trim().Split(' ');
        double v = double.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
        int power = Array.IndexOf(["B", "KiB", "MiB", "GiB", "TiB"], parts[1]);
        Assert.True(power >= 0, $"unknown unit in '{text}'");
        return (long)(v * Math.Pow(1024, power));
    }
}
