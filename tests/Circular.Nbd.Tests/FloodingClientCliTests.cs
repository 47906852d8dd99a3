using System.Net;
using Circular.Nbd.Tests.Support;

namespace Circular.Nbd.Tests;

/// <summary>
/// The real `circular nbd` against a client that floods it with large reads and never reads a reply: the server's
/// memory stays bounded (requests in flight are limited, replies wait on the socket), another client is served
/// correctly meanwhile, and the flooder's disconnect leaves the server serving.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FloodingClientCliTests : IDisposable
{
    private const int MiB = 1 << 20;
    private readonly Scratch _s = new();

    public void Dispose() => _s.Dispose();

    [Fact]
    public async Task A_client_that_never_reads_its_replies_holds_bounded_memory_and_others_are_served()
    {
        string archive = _s["archive"];
        (await CircularCli.RunAsync("init", archive)).Ok();
        string image = RandomData.WriteFile(_s["os.img"], 64 * MiB, 9);
        (await CircularCli.RunAsync("push", archive, "os", image)).Ok();
        int port = Ports.Free();
        await using var nbd = await CircularCli.StartAsync("serving", "nbd", archive, "--listen", $"127.0.0.1:{port}", "--cache", "none");
        var endpoint = new IPEndPoint(IPAddress.Loopback, port);

        await using var flooder = await RawNbdClient.ConnectAsync(endpoint);
        await flooder.NegotiateAsync("os");
        // 2,000 reads of 4 MiB (8 GB of replies) sent at once, none of them read.
        var sending = Task.Run(async () =>
        {
            for (ulong i = 0; i < 2000; i++)
                await flooder.SendRequestAsync(RawNbdClient.CmdRead, i, i % 16 * 4 * MiB, 4 * MiB);
        });
        await Task.WhenAny(sending, Task.Delay(TimeSpan.FromSeconds(3)));

        // Another client reads the whole export, exactly, while the flooder's replies pile up against its socket.
        string copy = _s["copy.img"];
        await Tools.RunAsync("qemu-img", "convert", "-f", "raw", "-O", "raw", $"nbd://127.0.0.1:{port}/os", copy);
        Files.AssertSameBytes(image, copy);

        long peak = HighWaterMark(nbd.Pid);
        // 16 requests or 64 MiB in flight per connection, plus the other client, the runtime and socket buffers.
        Assert.True(peak < 400L * MiB, $"circular nbd peaked at {peak / MiB} MiB with a client that reads no replies");
        Assert.False(nbd.HasExited);

        // The flooder goes away with its replies unread; the server carries on.
        await flooder.DisposeAsync();
        await sending.ContinueWith(_ => { }); // its writes fail once the socket is closed
        await Tools.RunAsync("qemu-img", "convert", "-f", "raw", "-O", "raw", $"nbd://127.0.0.1:{port}/os", _s["again.img"]);
        Files.AssertSameBytes(image, _s["again.img"]);
        nbd.Signal("INT");
        Assert.Equal(0, await nbd.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    private static long HighWaterMark(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        throw new InvalidOperationException($"no VmHWM for process {pid}");
    }
}
