using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using Circular.Bench.WanProxy;

// WanProxy --listen HOST:PORT --target HOST:PORT [--rtt 50ms] [--bandwidth 100mbit] [--stats FILE]
// Emulates a WAN between a client and a server on loopback: RTT/2 delay each way, one extra RTT per new connection,
// a bandwidth cap per direction shared by all connections. Counts bytes and connections; writes them to the stats
// file as JSON every second, on SIGUSR1, and on SIGTERM/SIGINT before exiting.
string? listen = null, target = null, statsFile = null;
TimeSpan rtt = TimeSpan.Zero;
double bits = 0;
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
        switch (args[i])
        {
            case "--listen":
                listen = Value();
                break;
            case "--target":
                target = Value();
                break;
            case "--rtt":
                rtt = Units.ParseDuration(Value());
                break;
            case "--bandwidth":
                bits = Units.ParseBitsPerSecond(Value());
                break;
            case "--stats":
                statsFile = Value();
                break;
            case "-h" or "--help":
                Console.WriteLine("usage: WanProxy --listen HOST:PORT --target HOST:PORT [--rtt 50ms] [--bandwidth 100mbit] [--stats FILE]");
                return 0;
            default:
                throw new FormatException($"unknown argument {args[i]}");
        }
    }
    if (listen is null || target is null)
    {
        throw new FormatException("--listen and --target are required");
    }
}
catch (FormatException e)
{
    Console.Error.WriteLine($"WanProxy: {e.Message}");
    return 2;
}

await using var proxy = new WanProxyServer(IPEndPoint.Parse(listen), IPEndPoint.Parse(target), new LinkSettings(rtt, bits)) {
    Log = Console.Error.WriteLine,
};
proxy.Start();
var done = new TaskCompletionSource();
object writeGate = new();
void WriteStats()
{
    if (statsFile is null)
    {
        return;
    }
    lock (writeGate)
    {
        string tmp = statsFile + ".tmp";
        File.WriteAllText(tmp, proxy.Stats.ToJson() + "\n");
        File.Move(tmp, statsFile, overwrite: true);
    }
}
void Stop(PosixSignalContext c)
{
    c.Cancel = true;
    done.TrySetResult();
}
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var usr1 = PosixSignalRegistration.Create((PosixSignal)10, c =>
{
    c.Cancel = true;
    WriteStats();
});
WriteStats();
Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"WanProxy: {proxy.LocalEndPoint} -> {target}, rtt {rtt.TotalMilliseconds} ms, {(bits > 0 ? $"{bits / 1e6} Mbit/s" : "unlimited")}"));
using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
_ = Task.Run(async () =>
{
    while (await timer.WaitForNextTickAsync())
    {
        WriteStats();
    }
});
await done.Task;
WriteStats();
return 0;
