using System.Diagnostics;

namespace Circular.Trust.Tests.Support;

/// <summary>A swtpm TPM 2.0 simulator on loopback TCP ports, reached by tpm2-tools through the TCTI it names.</summary>
public sealed class SoftwareTpm : IAsyncDisposable
{
    private readonly BackgroundProcess _process;

    private SoftwareTpm(BackgroundProcess process, int port)
    {
        _process = process;
        Tcti = $"swtpm:host=127.0.0.1,port={port}";
    }

    /// <summary>The value for TPM2TOOLS_TCTI.</summary>
    public string Tcti { get; }
    public Dictionary<string, string> Env => new() { ["TPM2TOOLS_TCTI"] = Tcti };

    public static async Task<SoftwareTpm> StartAsync(string stateDir)
    {
        Directory.CreateDirectory(stateDir);
        // The swtpm TCTI finds the control channel at port + 1.
        int port = Ports.Free();
        while (port >= 65535 || !Ports.IsFree(port + 1)) port = Ports.Free();
        var psi = new ProcessStartInfo(Tools.Locate("swtpm"));
        foreach (var a in new[] { "socket", "--tpm2", "--server", $"type=tcp,port={port}", "--ctrl", $"type=tcp,port={port + 1}",
                     "--tpmstate", $"dir={stateDir}", "--flags", "startup-clear" })
            psi.ArgumentList.Add(a);
        var p = BackgroundProcess.Start(psi, "swtpm");
        if (await Ports.WaitListeningAsync(port, TimeSpan.FromSeconds(20), () => p.HasExited)) return new SoftwareTpm(p, port);
        string why = p.HasExited ? $"swtpm exited {await p.WaitForExitAsync(TimeSpan.FromSeconds(10))}: {p.Err}" : "swtpm did not listen in 20 s";
        await p.DisposeAsync();
        throw new Xunit.Sdk.XunitException(why);
    }

    public async Task<string> ReadPcrAsync(int index)
    {
        string output = (await Tools.TryAsync(Tools.DefaultTimeout, Env, "tpm2_pcrread", $"sha256:{index}")).Ok().Out;
        int at = output.IndexOf("0x", StringComparison.Ordinal);
        Assert.True(at >= 0, "tpm2_pcrread printed: " + output);
        return output[(at + 2)..].Trim().Split('\n')[0].Trim().ToLowerInvariant();
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
