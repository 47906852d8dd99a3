using Circular.Nbd.Tests.Support;

namespace Circular.Nbd.Tests;

/// <summary>Random bytes at each phase: the connection ends (or idles) without faulting the server.</summary>
public sealed class RandomInputTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Random_bytes_after_greeting_or_negotiation_never_fault_the_server(int seed)
    {
        var random = new Random(seed);
        foreach (bool negotiate in new[] { false, true })
        {
            await using var connection = new InMemoryConnection(options: new NbdServerOptions { Writable = seed % 2 == 0 });
            if (negotiate)
                await connection.Client.NegotiateAsync("os", structured: seed > 2);
            else
                await connection.Client.StartAsync();
            byte[] junk = new byte[random.Next(1, 5000)];
            random.NextBytes(junk);
            await connection.Client.WriteAsync(junk);
            await connection.Client.DisposeAsync();
            // Whatever the junk meant, the server side must finish on its own, not throw.
            await connection.AssertServerEndsAsync();
            Assert.True(connection.ServerTask.IsCompletedSuccessfully);
        }
    }
}
