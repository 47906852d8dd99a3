using System.Collections.Concurrent;

namespace Circular.Server.Tests.Support;

/// <summary>An HttpClient handler that records every request it sends (method, URL, Range header).</summary>
public sealed class CountingHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    public ConcurrentQueue<string> Sent { get; } = new();
    public int Count => Sent.Count;
    public int Gets => Sent.Count(s => s.StartsWith("GET ", StringComparison.Ordinal));

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Sent.Enqueue($"{request.Method} {request.RequestUri} {request.Headers.Range}");
        return base.SendAsync(request, cancellationToken);
    }
}
