using Circular.Cli.Demo;
using Circular.Trust.Tests.Support;

namespace Circular.Trust.Tests;

/// <summary>
/// A real measured boot: the demo's busybox guest, signed and served by `circular serve`, booted in QEMU with
/// `boot --measure --tpm` against swtpm. The guest reaches its ready marker, the log verifies, the PCR equals the chain.
/// </summary>
public sealed class MeasuredQemuBootTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    [Fact]
    public async Task Boot_is_measured_into_the_log_and_the_tpm()
    {
        var built = await DemoImageBuilder.BuildAsync(_s["guest"], CancellationToken.None);
        var publisher = _s.NewClient("publisher");
        string archive = _s["archive"];
        (await publisher.RunAsync("init", archive)).Ok();
        (await publisher.RunAsync("key", "generate", _s["k"])).Ok();
        (await publisher.RunAsync("push", archive, "demo-os", built.Version1, "--key", _s["k"], "--kernel", built.Kernel, "--initrd", built.Miniroot,
            "--append", "console=ttyS0 root=/dev/vda init=/init quiet panic=-1")).Ok();
        await using var origin = await Served.StartAsync(archive);
        await using var tpm = await SoftwareTpm.StartAsync(_s["tpm"]);

        var client = _s.NewClient();
        client.Environment["TPM2TOOLS_TCTI"] = tpm.Tcti;
        string log = _s["boot.log"];
        var boot = (await client.RunAsync("boot", origin.Url, "demo-os", "--trust", _s["k.pub"], "--cache", "none", "--measure", log, "--tpm",
            "--ready-marker", DemoImageBuilder.Marker)).Ok();
        Assert.Contains(DemoImageBuilder.Marker + " version=1", boot.Out, StringComparison.Ordinal);

        string[] events = File.ReadAllLines(log).Where(l => l.StartsWith("sha256:", StringComparison.Ordinal)).ToArray();
        Assert.Contains(" manifest ", events[0], StringComparison.Ordinal);
        Assert.True(events.Length > 10, $"only {events.Length} measurements");
        var r = (await client.RunAsync("attest", "verify", log, origin.Url, "--cache", "none", "--trust", _s["k.pub"])).Ok();
        string chain = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim();
        Assert.Equal(events[^1].Split(' ')[0], chain);
        Assert.Equal(chain["sha256:".Length..], await tpm.ReadPcrAsync(23));

        // A log claiming a different boot (one chunk line replaced, chain left as it was) is rejected.
        var tampered = File.ReadAllLines(log);
        int i = Array.FindLastIndex(tampered, l => l.Contains(" chunk ", StringComparison.Ordinal) && l.StartsWith("sha256:", StringComparison.Ordinal));
        tampered[i] = tampered[i][..^64] + new string('e', 64);
        File.WriteAllLines(_s["tampered.log"], tampered);
        (await client.RunAsync("attest", "verify", _s["tampered.log"], archive, "--trust", _s["k.pub"])).Refused("the log was altered");
    }
}
