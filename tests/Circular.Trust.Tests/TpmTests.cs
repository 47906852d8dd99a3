using Circular.Trust.Tests.Support;

namespace Circular.Trust.Tests;

/// <summary>`--tpm` extends a real (software) TPM 2.0 PCR with the same values as the log: the PCR ends equal to the chain.</summary>
public sealed class TpmTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    [Fact]
    public async Task Pcr_equals_the_chain_attest_computes()
    {
        await using var tpm = await SoftwareTpm.StartAsync(_s["tpm"]);
        Assert.Equal(new string('0', 64), await tpm.ReadPcrAsync(23));
        var a = await SignedArchive.CreateAsync(_s);
        await using var origin = await Served.StartAsync(a.Root);
        var client = _s.NewClient();
        client.Environment["TPM2TOOLS_TCTI"] = tpm.Tcti;
        string log = _s["boot.log"];
        await using (var nbd = await NbdProcess.StartAsync(client, _s["nbd.sock"], origin.Url, "--cache", "none", "--trust", a.Pub, "--measure", log, "--tpm", "--tpm-pcr", "23"))
        {
            await Tools.RunAsync("nbdcopy", nbd.Uri("os@1"), _s["copy.img"]);
            var (code, err) = await nbd.StopAsync();
            Assert.True(code == 0, $"circular nbd exited {code}: {err}");
        }
        var r = (await client.RunAsync("attest", "verify", log, origin.Url, "--cache", "none", "--trust", a.Pub)).Ok();
        string chain = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim();
        Assert.StartsWith("sha256:", chain, StringComparison.Ordinal);
        Assert.Equal(chain["sha256:".Length..], await tpm.ReadPcrAsync(23));
        (await client.RunAsync("attest", "verify", log, a.Root, "--trust", a.Pub, "--expect", await tpm.ReadPcrAsync(23))).Ok();
    }
}
