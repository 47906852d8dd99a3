namespace Circular.Nbd.Tests.Support;

/// <summary>A server connection over an in-memory duplex stream: no sockets, no ports.</summary>
public sealed class InMemoryConnection : IAsyncDisposable
{
    private readonly CancellationTokenSource _cts = new();

    public MemoryCatalog Catalog { get; }
    public RawNbdClient Client { get; }
    public Task ServerTask { get; }
    public StringWriter Log { get; } = new();

    public InMemoryConnection(MemoryCatalog? catalog = null, NbdServerOptions? options = null)
    {
        Catalog = catalog ?? MemoryCatalog.CreateDefault();
        var server = new NbdServer(Catalog, (options ?? new NbdServerOptions()) with { Log = new TestLog(Log) });
        var (serverSide, clientSide) = DuplexStream.CreatePair();
        Client = new RawNbdClient(clientSide);
        ServerTask = server.HandleConnectionAsync(serverSide, _cts.Token);
    }

    public string LogText
    {
        get { lock (Log) return Log.ToString(); }
    }

    /// <summary>The server side finished on its own (it must never fault).</summary>
    public async Task AssertServerEndsAsync() => await ServerTask.WaitAsync(RawNbdClient.Timeout);

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        _cts.Cancel();
        await ServerTask.WaitAsync(RawNbdClient.Timeout);
        _cts.Dispose();
    }
}
