namespace Circular.Trust.Tests.Support;

/// <summary>A directory served over HTTP by a real `circular serve` process (an origin, or a malicious mirror when the files were altered).</summary>
public sealed class Served : IAsyncDisposable
{
    private readonly BackgroundProcess _server;

    private Served(BackgroundProcess server, string url)
    {
        _server = server;
        Url = url;
    }

    public string Url { get; }

    public static async Task<Served> StartAsync(string dir)
    {
        var user = new CliUser(Path.Combine(dir, "..", "serve-data"));
        var (server, url) = await CircularCli.ServeAsync(dir, user.Environment);
        return new Served(server, $"http://127.0.0.1:{url.Port}");
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
