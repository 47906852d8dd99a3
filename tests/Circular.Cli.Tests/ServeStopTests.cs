using System.Diagnostics;
using System.Net.Sockets;
using Circular.Cli.Tests.Support;

namespace Circular.Cli.Tests;

/// <summary>`serve` stops within a second on SIGTERM, also while a client holds a half-sent request open.</summary>
public sealed class ServeStopTests : IDisposable
{
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Serve_stops_promptly_on_SIGTERM(bool halfSentRequest)
    {
        string archive = await _s.InitArchiveAsync("archive");
        var (server, url) = await CircularCli.ServeAsync(archive);
        await using (server)
        {
            using var client = new TcpClient();
            if (halfSentRequest)
            {
                await client.ConnectAsync("127.0.0.1", url.Port);
                // The request line and one header, never the blank line that ends the request.
                await client.GetStream().WriteAsync("GET /images.json HTTP/1.1\r\nHost: x\r\n"u8.ToArray());
                await Task.Delay(300); // let the server read it
            }
            var clock = Stopwatch.StartNew();
            server.Signal("TERM");
            await server.WaitForExitAsync(TimeSpan.FromSeconds(40));
            var took = clock.Elapsed;
            Assert.True(server.HasExited);
            Assert.Equal(0, server.ExitCode);
            // It stops in about half a second here (its shutdown grace); the bound leaves room for a loaded machine and
            // still catches the host's default 30-s drain of open connections, which is what this test is for.
            Assert.True(took < TimeSpan.FromSeconds(5), $"serve took {took.TotalSeconds:0.00} s to stop{(halfSentRequest ? " with a half-sent request" : "")}");
        }
    }
}
