using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Circular.Trust.Tests.Support;

/// <summary>A directory served over HTTP by a real `circular serve` process (an origin, or a malicious mirror when the files were altered).</summary>
public sealed class Served : IAsyncDisposable
{
    private readonly Process _process;

    private Served(Process process, string url)
    {
        _process = process;
        Url = url;
    }

    public string Url { get; }

    public static async Task<Served> StartAsync(string dir)
    {
        int port = FreePort();
        var cli = new CliUser(Path.Combine(dir, "..", "serve-data"));
        var p = Process.Start(cli.StartInfo("serve", dir, "--listen", $"127.0.0.1:{port}"))!;
        p.StandardInput.Close();
        _ = p.StandardOutput.ReadToEndAsync();
        var err = p.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (p.HasExited) throw new Xunit.Sdk.XunitException($"circular serve exited {p.ExitCode}: {await err}");
            using var c = new TcpClient();
            try
            {
                await c.ConnectAsync(IPAddress.Loopback, port);
                return new Served(p, $"http://127.0.0.1:{port}");
            }
            catch (SocketException) { await Task.Delay(50); }
        }
        p.Kill(entireProcessTree: true);
        throw new Xunit.Sdk.XunitException("circular serve did not start listening in 30 s");
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
