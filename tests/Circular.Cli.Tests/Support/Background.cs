using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Circular.Cli.Tests.Support;

/// <summary>
/// A long-running `circular` (serve, nbd) started in the background, its output collected; stopped with SIGTERM
/// (or killed) on dispose.
/// </summary>
public sealed class Background : IAsyncDisposable
{
    private readonly StringBuilder _out = new();
    private readonly Task _pump;

    private Background(Process p)
    {
        Process = p;
        _pump = Task.WhenAll(Pump(p.StandardOutput), Pump(p.StandardError));
    }

    public Process Process { get; }
    public string Output { get { lock (_out) return _out.ToString(); } }

    public static Background Start(params string[] args)
    {
        var p = Process.Start(CliProcess.StartInfo(args))!;
        p.StandardInput.Close();
        return new Background(p);
    }

    /// <summary>`circular serve ARCHIVE` on a free loopback port, once it accepts connections.</summary>
    public static async Task<(Background Server, Uri Url)> ServeAsync(string archive)
    {
        int port = FreePort();
        var bg = Start("serve", archive, "--listen", $"127.0.0.1:{port}");
        if (!await WaitListeningAsync(port, TimeSpan.FromSeconds(30)))
        {
            await bg.DisposeAsync();
            throw new Xunit.Sdk.XunitException("circular serve did not listen: " + bg.Output);
        }
        return (bg, new Uri($"http://127.0.0.1:{port}"));
    }

    private async Task Pump(StreamReader r)
    {
        string? line;
        while ((line = await r.ReadLineAsync()) is not null)
            lock (_out) _out.AppendLine(line);
    }

    /// <summary>Sends SIGTERM and waits for the exit; the time it took to stop.</summary>
    public async Task<TimeSpan> TerminateAsync(TimeSpan wait)
    {
        var clock = Stopwatch.StartNew();
        if (!Process.HasExited) Signal(Process.Id, 15);
        using var cts = new CancellationTokenSource(wait);
        try { await Process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { Process.Kill(entireProcessTree: true); await Process.WaitForExitAsync(); }
        return clock.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited) await TerminateAsync(TimeSpan.FromSeconds(10));
        await _pump.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
        Process.Dispose();
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Signal(int pid, int signal);

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public static async Task<bool> WaitListeningAsync(int port, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            using var c = new TcpClient();
            try
            {
                await c.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(1));
                return true;
            }
            catch (Exception e) when (e is SocketException or TimeoutException) { await Task.Delay(50); }
        }
        return false;
    }
}
