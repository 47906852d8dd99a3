using System.Diagnostics;

namespace Circular.Trust.Tests.Support;

/// <summary>`circular nbd` on a Unix socket, stopped with SIGINT so it shuts down cleanly (closing its measurement log).</summary>
public sealed class NbdProcess : IAsyncDisposable
{
    private readonly BackgroundProcess _process;

    private NbdProcess(BackgroundProcess process, string socket)
    {
        _process = process;
        Socket = socket;
    }

    public string Socket { get; }

    public static async Task<NbdProcess> StartAsync(CliUser client, string socket, params string[] args)
    {
        var p = client.Start(["nbd", .. args, "--socket", socket]);
        try
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(socket))
            {
                if (p.HasExited) throw new Xunit.Sdk.XunitException($"circular nbd exited {await p.WaitForExitAsync(TimeSpan.FromSeconds(10))}: {p.Err}");
                if (clock.Elapsed > TimeSpan.FromSeconds(30)) throw new Xunit.Sdk.XunitException("circular nbd did not listen in 30 s");
                await Task.Delay(50);
            }
            return new NbdProcess(p, socket);
        }
        catch
        {
            await p.DisposeAsync();
            throw;
        }
    }

    public string Uri(string export) => $"nbd+unix:///{export}?socket={Socket}";

    /// <summary>Sends SIGINT and waits for a clean exit; returns the exit code and stderr.</summary>
    public async Task<(int Code, string Err)> StopAsync()
    {
        _process.Signal("INT");
        int code = await _process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (code, _process.Err);
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
