using Circular.Client;

namespace Circular.Cli.Composition;

/// <summary>
/// `nbd` of a local archive runs socket completions on the socket engine's own threads instead of handing each one to
/// the thread pool. Its reads mostly complete without blocking (memory-cache and page-cache hits, read with
/// RWF_NOWAIT; anything that would block or decode moves to a worker itself), so the hand-off was most of a small
/// read's cost: thread-pool workers woke and spun for every request (random 4 KiB reads at depth 16: about 0.6x
/// nbdkit with the hand-off, about 1.0x without; docs/benchmarks.md). Only there: with HTTP sockets in the same
/// process, the in-guest client (one vCPU, so one socket engine) hung on its first read in CI, so archives over the
/// network keep the thread pool. Must run before the process uses its first socket.
/// </summary>
internal static class SocketCompletions
{
    private const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    public static void ForLocalNbd(string source)
    {
        if (!ArchiveLocation.IsRemote(source) && Environment.GetEnvironmentVariable(Variable) is null)
            Environment.SetEnvironmentVariable(Variable, "1");
    }
}
