using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.HotData;
using Circular.Storage.Backends;

namespace Circular.Imaging.HotData;

/// <summary>
/// The pack files of one version, fetched whole on first use (by the prefetcher or a read), verified against their
/// id and kept decoded in memory for the rest of the run: together they hold only the pages a boot reads, so they
/// are small, and reads then cost a copy. Concurrent requests for one pack share one download.
/// </summary>
public sealed class PackStore
{
    /// <summary>
    /// Checking and decoding are CPU work: one pack per core at a time, process-wide, in the order the packs arrived
    /// (the prefetcher asks for them in boot order). On a machine with one CPU, packs decoded side by side were each
    /// finished only when nearly all were, and the first read of a boot waited for all of them.
    /// </summary>
    private static readonly SemaphoreSlim Decoding = new(Environment.ProcessorCount);
    private readonly IArchiveBackend _backend;
    private readonly Lazy<Task<byte[]>>[] _packs;
    private long _fetchedBytes;
    private int _loaded;

    public PackStore(IArchiveBackend backend, PackIndex index)
    {
        _backend = backend;
        Index = index;
        _packs = index.Packs.Select(NewFetch).ToArray();
    }

    private Lazy<Task<byte[]>> NewFetch(PackInfo info) => new(() => FetchAsync(info));

    public PackIndex Index { get; }
    /// <summary>Stored bytes of the packs loaded so far (what crossed the network when not cached).</summary>
    public long LoadedBytes => Interlocked.Read(ref _fetchedBytes);
    public int Loaded => Volatile.Read(ref _loaded);

    public bool IsLoaded(int pack) => _packs[pack].IsValueCreated && _packs[pack].Value.IsCompletedSuccessfully;

    /// <summary>The decoded content of pack <paramref name="pack"/>; a failed fetch is retried by the next caller.</summary>
    public async ValueTask<byte[]> GetAsync(int pack, CancellationToken ct)
    {
        var lazy = _packs[pack];
        var task = lazy.Value;
        try
        {
            var data = await task.WaitAsync(ct).ConfigureAwait(false);
            return data;
        }
        catch when (task.IsFaulted)
        {
            // Let the next reader try again rather than remembering a network failure for the whole run.
            Interlocked.CompareExchange(ref _packs[pack], NewFetch(Index.Packs[pack]), lazy);
            throw;
        }
    }

    private async Task<byte[]> FetchAsync(PackInfo info)
    {
        await Task.Yield(); // leave the Lazy before doing I/O
        var pack = info.Ref;
        var id = pack.Id;
        // Not cancellable: other readers may be waiting on this fetch.
        return await VerifiedRead.ReadAsync(_backend, ObjectHandle.Pack(id), async (obj, _) =>
        {
            await Decoding.WaitAsync().ConfigureAwait(false);
            try
            {
                byte[] data = GC.AllocateUninitializedArray<byte>(info.Length);
                // The stored file's digest, when the index gives it, checks the compressed bytes (a third of the content).
                int n = ChunkFile.DecodeStored(pack, obj.Source, obj.Data.Span, data);
                if (n != info.Length) throw new ChunkIntegrityException(id, obj.Source, $"pack holds {n} bytes, its index says {info.Length}");
                Interlocked.Add(ref _fetchedBytes, obj.Length);
                Interlocked.Increment(ref _loaded);
                return data;
            }
            finally
            {
                Decoding.Release();
            }
        }, whenMissing: defect => throw defect ?? new ArchiveFormatException($"pack {id.Short} is missing from {_backend.Location}"),
        whenExhausted: null, CancellationToken.None).ConfigureAwait(false);
    }
}
