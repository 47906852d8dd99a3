namespace Circular.Server.Tests.Support;

/// <summary>The standard archive served by a private nginx as plain static files.</summary>
public sealed class NginxArchiveFixture : IAsyncLifetime
{
    private TestArchive? _archive;
    private NginxServer? _nginx;

    public TestArchive Archive => _archive ?? throw new InvalidOperationException("fixture not started");
    public NginxServer Nginx => _nginx ?? throw new InvalidOperationException("fixture not started");

    public async Task InitializeAsync()
    {
        _archive = await TestArchive.CreateStandardAsync();
        _nginx = await NginxServer.StartAsync(_archive.Root);
    }

    public Task DisposeAsync()
    {
        _nginx?.Dispose();
        _archive?.Dispose();
        return Task.CompletedTask;
    }
}
