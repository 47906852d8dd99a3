using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Circular.Trust.Tests.Support;

/// <summary>A swtpm TPM 2.0 simulator on loopback TCP ports, reached by tpm2-tools through the TCTI it names.</summary>
public sealed class SoftwareTpm : IAsyncDisposable
{
    private readonly Process _process;

    private SoftwareTpm(Process process, int port)
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
        int port = Served.FreePort();
        while (port >= 65535 || !IsFree(port + 1)) port = Served.FreePort();
        int ctrl = port + 1;
        var psi = new ProcessStartInfo("swtpm") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "socket", "--tpm2", "--server", $"type=tcp,port={port}", "--ctrl", $"type=tcp,port={ctrl}",
                     "--tpmstate", $"dir={stateDir}", "--flags", "startup-clear" })
            psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { throw new Xunit.Sdk.XunitException("swtpm is not installed (scripts/install-deps.sh installs swtpm and tpm2-tools)"); }
        _ = p.StandardOutput.ReadToEndAsync();
        var err = p.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (p.HasExited) throw new Xunit.Sdk.XunitException($"swtpm exited {p.ExitCode}: {await err}");
            using var c = new TcpClient();
            try
            {
                await c.ConnectAsync(IPAddress.Loopback, port);
                break;
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(20)) { await Task.Delay(50); }
        }
        return new SoftwareTpm(p, port);
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var l = new TcpListener(IPAddress.Loopback, port);
            l.Start();
            return true;
        }
        catch (SocketException) { return false; }
    }

    public async Task<string> ReadPcrAsync(int index)
    {
        string output = await Tool.RunAsync("tpm2_pcrread", Env, $"sha256:{index}");
        int at = output.IndexOf("0x", StringComparison.Ordinal);
        Assert.True(at >= 0, "tpm2_pcrread printed: " + output);
        return output[(at + 2)..].Trim().Split('\n')[0].Trim().ToLowerInvariant();
    }

    public async ValueTask DisposeAsync()
    {
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
