namespace Circular.Cli.Composition;

/// <summary>
/// The NBD-serving commands run socket completions on the socket engine's own threads instead of handing each one to
/// the thread pool. Their reads mostly complete without blocking (memory-cache and page-cache hits, read with
/// RWF_NOWAIT; anything that would block or decode moves to a worker itself), so the hand-off was most of a small
/// read's cost: thread-pool workers woke and spun for every request (random 4 KiB reads at depth 16: about 0.6x
/// nbdkit with the hand-off, about 1.0x without; docs/benchmarks.md). Must run before the first socket is used.
/// </summary>
internal static class SocketCompletions
{
    private static readonly HashSet<string> NbdServers = new(StringComparer.Ordinal) { "nbd", "netroot", "attach" };

    public static void Configure(string[] args)
    {
        if (args.Length > 0 && NbdServers.Contains(args[0])
            && Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
    }
}
