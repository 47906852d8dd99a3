namespace Circular.Server.Tests.Support;

/// <summary>One served standard archive shared by the tests of a class that only read it.</summary>
public sealed class ServedArchiveFixture : IAsyncLifetime
{
    private ServedArchive? _served;

    public ServedArchive Served => _served ?? throw new InvalidOperationException("fixture not started");
    public HttpClient Client { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async Task InitializeAsync() => _served = await ServedArchive.StartAsync();

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_served is not null) await _served.DisposeAsync();
    }
}
