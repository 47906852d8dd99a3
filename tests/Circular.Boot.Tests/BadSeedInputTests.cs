namespace Circular.Boot.Tests;

/// <summary>Each wrong way to ask for a seed disk is one clear line and a non-zero exit, and leaves no file behind.</summary>
[Collection("qemu")]
public sealed class BadSeedInputTests(InetBootFixture f) : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    /// <summary>Runs `circular seed` into an empty directory; returns its one error line after checking nothing was written.</summary>
    private async Task<string> RefusedAsync(string file, params string[] args)
    {
        string dir = _s["out"];
        Directory.CreateDirectory(dir);
        var before = Directory.GetFiles(dir).Order().ToList();
        var r = await CircularCli.RunAsync(TimeSpan.FromMinutes(3), ["seed", .. args, "-o", Path.Combine(dir, file), "--initramfs", f.Initramfs]);
        Assert.True(r.Code != 0, "accepted: " + r);
        Assert.True(r.ErrLines.Length == 1, "not one line: " + r);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.Equal(before, Directory.GetFiles(dir).Order().ToList());
        Assert.Empty(Directory.GetDirectories(dir));
        return r.ErrLines[0];
    }

    [Fact]
    public async Task An_unknown_format_is_named() =>
        Assert.Contains("unknown disk format 'vhd2'", await RefusedAsync("seed.img", f.Archive, "os", "--url", "http://10.0.2.100", "--format", "vhd2"));

    [Fact]
    public async Task A_file_name_that_names_no_format_asks_for_one() =>
        Assert.Contains("give --format", await RefusedAsync("seed.disk", f.Archive, "os", "--url", "http://10.0.2.100"));

    [Fact]
    public async Task A_size_too_small_for_the_boot_files_says_what_would_do() =>
        Assert.Matches(@"--size .* is too small: .* use --size \d+M or more", await RefusedAsync("seed.qcow2", f.Archive, "os", "--url", "http://10.0.2.100", "--size", "40M"));

    [Fact]
    public async Task An_existing_file_is_kept_unless_forced()
    {
        string dir = _s["out"];
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "seed.qcow2"), "precious");
        Assert.Contains("exists: give --force", await RefusedAsync("seed.qcow2", f.Archive, "os", "--url", "http://10.0.2.100"));
        Assert.Equal("precious", File.ReadAllText(Path.Combine(dir, "seed.qcow2")));
    }

    [Fact]
    public async Task An_unreachable_archive_is_named()
    {
        int port = Ports.Free();
        Assert.Contains($"127.0.0.1:{port}", await RefusedAsync("seed.qcow2", $"http://127.0.0.1:{port}", "os", "--cache", "none", "--timeout", "2"));
    }

    [Fact]
    public async Task An_unsigned_archive_is_refused_when_a_key_is_given() =>
        Assert.Contains("not signed", await RefusedAsync("seed.qcow2", f.Archive, "os", "--url", "http://10.0.2.100", "--trust", f.KeyA + ".pub"));

    [Fact]
    public async Task A_vmdk_subformat_for_another_format_is_refused() =>
        Assert.Contains("--vmdk-subformat is for vmdk disks only", await RefusedAsync("seed.qcow2", f.Archive, "os", "--url", "http://10.0.2.100", "--vmdk-subformat", "streamOptimized"));
}
