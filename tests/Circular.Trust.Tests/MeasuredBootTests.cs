using Circular.Core.Signing;
using Circular.Trust.Tests.Support;

namespace Circular.Trust.Tests;

/// <summary>
/// `nbd --measure` over a signed archive served by `circular serve`, read by nbdcopy: the log verifies with
/// `attest verify`; logs of tampered boots do not.
/// </summary>
public sealed class MeasuredBootTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    private async Task<(SignedArchive Archive, Served Origin, string Log)> MeasuredReadAsync(CliUser client, params string[] extra)
    {
        var a = await SignedArchive.CreateAsync(_s);
        var origin = await Served.StartAsync(a.Root);
        string log = _s["boot.log"];
        await using var nbd = await NbdProcess.StartAsync(client, _s["nbd.sock"], [origin.Url, "--cache", "none", "--trust", a.Pub, "--measure", log, .. extra]);
        await Tools.RunAsync("nbdcopy", nbd.Uri("os"), _s["copy.img"]);
        var (code, err) = await nbd.StopAsync();
        Assert.True(code == 0, $"circular nbd exited {code}: {err}");
        Assert.Equal(File.ReadAllBytes(a.V2), File.ReadAllBytes(_s["copy.img"]));
        return (a, origin, log);
    }

    [Fact]
    public async Task Measurement_log_of_a_read_verifies_against_the_archive()
    {
        var client = _s.NewClient();
        var (a, origin, log) = await MeasuredReadAsync(client);
        await using var _ = origin;
        string[] lines = File.ReadAllLines(log);
        Assert.StartsWith("#", lines[0], StringComparison.Ordinal);
        Assert.Contains(" manifest ", lines[1], StringComparison.Ordinal);
        Assert.EndsWith(" os@2", lines[1], StringComparison.Ordinal);
        Assert.Equal(16, lines.Count(l => l.StartsWith("sha256:", StringComparison.Ordinal) && l.Contains(" chunk ", StringComparison.Ordinal))); // 1 MiB in 64 KiB chunks, all distinct
        var r = (await client.RunAsync("attest", "verify", log, origin.Url, "--cache", "none", "--trust", a.Pub)).Ok();
        string final = lines[^1].Split(' ')[0];
        Assert.Contains(final, r.Out, StringComparison.Ordinal);
        (await client.RunAsync("attest", "verify", log, a.Root, "--trust", a.Pub, "--expect", final)).Ok();
        (await client.RunAsync("attest", "verify", log, a.Root, "--trust", a.Pub, "--expect", "sha256:" + new string('0', 64))).Refused("is not the expected");
    }

    [Fact]
    public async Task Mount_measure_logs_what_is_read_through_fuse_and_the_log_verifies()
    {
        var client = _s.NewClient();
        var a = await SignedArchive.CreateAsync(_s);
        await using var origin = await Served.StartAsync(a.Root);
        string log = _s["mount.log"], mnt = _s["mnt"];
        Directory.CreateDirectory(mnt);
        var mount = client.Start("mount", origin.Url, mnt, "--cache", "none", "--trust", a.Pub, "--measure", log);
        await using (mount)
        {
            await mount.WaitForOutputAsync("mounted on", TimeSpan.FromSeconds(30));
            Assert.Equal(File.ReadAllBytes(a.V2), File.ReadAllBytes(Path.Combine(mnt, "os", "latest.img")));
            mount.Signal("INT");
            Assert.Equal(0, await mount.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }
        string[] lines = File.ReadAllLines(log);
        Assert.Contains(lines, l => l.Contains(" manifest ", StringComparison.Ordinal) && l.EndsWith(" os@2", StringComparison.Ordinal));
        Assert.Equal(16, lines.Count(l => l.StartsWith("sha256:", StringComparison.Ordinal) && l.Contains(" chunk ", StringComparison.Ordinal))); // every chunk of the version read, once
        var r = (await client.RunAsync("attest", "verify", log, origin.Url, "--cache", "none", "--trust", a.Pub)).Ok();
        Assert.Contains(lines[^1].Split(' ')[0], r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Log_with_an_edited_chunk_line_does_not_verify()
    {
        var client = _s.NewClient();
        var (a, origin, log) = await MeasuredReadAsync(client);
        await using var _ = origin;
        var lines = File.ReadAllLines(log);
        int i = Array.FindIndex(lines, l => l.StartsWith("sha256:", StringComparison.Ordinal) && l.Contains(" chunk ", StringComparison.Ordinal)) + 2;
        string foreign = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("not in the image"u8));

        // Edited in place: the chain no longer follows.
        var edited = (string[])lines.Clone();
        edited[i] = edited[i][..edited[i].LastIndexOf(' ')] + " " + foreign;
        File.WriteAllLines(_s["edited.log"], edited);
        (await client.RunAsync("attest", "verify", _s["edited.log"], origin.Url, "--cache", "none", "--trust", a.Pub)).Refused("the log was altered");

        // Edited with every chain value recomputed: the chunk belongs to no measured version.
        var chain = new MeasurementChain();
        var forged = new List<string> { lines[0] };
        foreach (var line in edited.Skip(1))
        {
            var f = line.Split(' ');
            chain.Extend(Convert.FromHexString(f[2]));
            forged.Add($"sha256:{chain.Hex} {string.Join(' ', f.Skip(1))}");
        }
        File.WriteAllLines(_s["forged.log"], forged);
        (await client.RunAsync("attest", "verify", _s["forged.log"], origin.Url, "--cache", "none", "--trust", a.Pub)).Refused("belongs to no measured version");
    }

    [Fact]
    public async Task Log_naming_a_manifest_the_archive_lacks_does_not_verify()
    {
        var client = _s.NewClient();
        var (a, origin, log) = await MeasuredReadAsync(client);
        await using var _ = origin;
        var lines = File.ReadAllLines(log);
        var chain = new MeasurementChain();
        string fake = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("fake manifest"u8));
        chain.Extend(Convert.FromHexString(fake));
        File.WriteAllLines(_s["fake.log"], [lines[0], $"sha256:{chain.Hex} manifest {fake} os@2"]);
        (await client.RunAsync("attest", "verify", _s["fake.log"], a.Root, "--trust", a.Pub)).Refused("is no version of");
    }
}
