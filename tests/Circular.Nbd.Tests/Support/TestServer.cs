using System.Net;

namespace Circular.Nbd.Tests.Support;

/// <summary>An <see cref="NbdServer"/> listening on a free port (or a Unix socket) for the duration of a test.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _cts;

    public NbdServer Server { get; }
    public MemoryCatalog Catalog { get; }
    public EndPoint EndPoint { get; }
    public StringWriter Log { get; }
    public Task ServeTask { get; }

    private TestServer(NbdServer server, MemoryCatalog catalog, CancellationTokenSource cts, Task serve, EndPoint endpoint, StringWriter log)
    {
        Server = server;
        Catalog = catalog;
        _cts = cts;
        ServeTask = serve;
        EndPoint = endpoint;
        Log = log;
    }

    public int Port => ((IPEndPoint)EndPoint).Port;
    public string Uri(string export) => $"nbd://127.0.0.1:{Port}/{export}";

    public static async Task<TestServer> StartAsync(MemoryCatalog? catalog = null, NbdServerOptions? options = null, EndPoint? endpoint = null)
    {
        catalog ??= MemoryCatalog.CreateDefault();
        var log = new StringWriter();
        var server = new NbdServer(catalog, (options ?? new NbdServerOptions()) with { Log = new TestLog(log) });
        var cts = new CancellationTokenSource();
        Task serve = server.ServeAsync(endpoint ?? new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        // ServeAsync faults Listening when binding fails, so this cannot hang.
        EndPoint bound = await server.Listening.WaitAsync(TimeSpan.FromSeconds(10));
        return new TestServer(server, catalog, cts, serve, bound, log);
    }

    public Task<RawNbdClient> ConnectAsync() => RawNbdClient.ConnectAsync(EndPoint);

    public string LogText
    {
        get { lock (Log) return Log.ToString(); }
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        await ServeTask.WaitAsync(TimeSpan.FromSeconds(10));
        _cts.Dispose();
    }
}
