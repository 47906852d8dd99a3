using System.Buffers;
using System.Collections.Concurrent;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.HotData;
using Circular.Core.Refs;
using Circular.Imaging.Diagnostics;
using Circular.Imaging.Images;
using Circular.Storage.Archive;
using Circular.Storage.Chunks;
using Circular.Storage.Prefetch;

namespace Circular.Imaging.HotData;

/// <summary>
/// Puts a version's hot data to work when a client opens it: packs under the reads, the profile recorder over them,
/// and a prefetcher that fetches the profiled packs and chunks in profile order. One set of layers per version,
/// shared by every open of it; this object owns them and ends them (writing the recorded profile) when disposed.
/// </summary>
public sealed class HotDataLayer(ArchiveReader reader, IChunkSource chunks, HotDataOptions options) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<IVersionImage>>> _versions = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<Prefetcher> _prefetchers = [];
    private readonly ConcurrentBag<PackStore> _packs = [];
    private ProfileRecorder? _recorder;

    public HotDataOptions Options => options;
    public IReadOnlyCollection<Prefetcher> Prefetchers => _prefetchers;
    public IReadOnlyCollection<PackStore> PackStores => _packs;
    public ProfileRecorder? Recorder => Volatile.Read(ref _recorder);

    /// <summary>The version with its hot-data layers: the same object for every open of one manifest.</summary>
    public Task<IVersionImage> OpenAsync(string image, VersionEntry entry, ChunkedImage chunked) =>
        _versions.GetOrAdd(entry.ManifestDigest, _ => new Lazy<Task<IVersionImage>>(() => BuildAsync(image, entry, chunked))).Value;

    private async Task<IVersionImage> BuildAsync(string image, VersionEntry entry, ChunkedImage chunked)
    {
        var ct = CancellationToken.None; // shared by every open: one caller's cancellation must not fail the others
        IVersionImage top = chunked;
        // Both small files at once: on a WAN each is a round trip before prefetching can start.
        var indexLoad = options.Packs && entry.Packs is not null
            ? TryAsync(() => reader.GetPackIndexAsync(image, entry, ct), $"packs of {chunked.Name}") : Task.FromResult<PackIndex?>(null);
        var profileLoad = options.Prefetch && entry.Profile is not null
            ? TryAsync(() => reader.GetProfileAsync(image, entry, ct), $"profile of {chunked.Name}") : Task.FromResult<BootProfile?>(null);
        PackStore? store = null;
        PackedImage? packed = null;
        if (await indexLoad.ConfigureAwait(false) is { } index)
        {
            if (index.ManifestDigest != entry.ManifestDigest)
            {
                options.Log.PacksForAnotherManifest(chunked.Name);
            }
            else
            {
                store = new PackStore(reader.Backend, index);
                _packs.Add(store);
                top = packed = new PackedImage(top, store) { Log = options.Log };
            }
        }
        if (options.RecordProfile is not null && Interlocked.CompareExchange(ref _recorder, new ProfileRecorder(top, entry.ManifestDigest, options.Clock), null) is null)
            top = _recorder!;
        if (await profileLoad.ConfigureAwait(false) is { } profile)
        {
            var jobs = PlanJobs(profile, chunked, packed, store);
            if (jobs.Count > 0)
            {
                var gate = new DemandGate();
                var prefetcher = new Prefetcher(jobs, gate, options.Prefetcher);
                _prefetchers.Add(prefetcher);
                top = new DemandTrackingImage(top, gate);
                prefetcher.Start();
            }
        }
        return top;
    }

    /// <summary>Hot data only speeds reads up: when it cannot be loaded the version is read as if it had none.</summary>
    private async Task<T?> TryAsync<T>(Func<Task<T?>> load, string what) where T : class
    {
        try { return await load().ConfigureAwait(false); }
        catch (CircularException e)
        {
            options.Log.HotDataUnusable(what, e.Message);
            return null;
        }
    }

    /// <summary>Packs first (they hold the profile's pages in access order), then profiled chunks the packs do not cover, in first-read order.</summary>
    private List<PrefetchJob> PlanJobs(BootProfile profile, ChunkedImage chunked, PackedImage? packed, PackStore? store)
    {
        var jobs = new List<PrefetchJob>();
        if (store is not null)
        {
            for (int i = 0; i < store.Index.Packs.Count; i++)
            {
                int pack = i;
                jobs.Add(new PrefetchJob($"pack {pack}", store.Index.Packs[pack].Stored, async ct => await store.GetAsync(pack, ct).ConfigureAwait(false)));
            }
        }
        var manifest = chunked.Manifest;
        if (profile.Size != manifest.ImageSize) return jobs; // recorded on an image of another size: its offsets mean nothing here
        int cs = manifest.ChunkSize;
        var seen = new HashSet<ChunkId>();
        foreach (var read in profile.Entries)
        {
            if (packed is not null && packed.Covers(read.Offset, read.Length)) continue;
            for (long b = read.Offset / cs; b * cs < read.Offset + read.Length; b++)
            {
                var id = manifest.Blocks[b];
                if (id.IsZero || !seen.Add(id)) continue;
                jobs.Add(new PrefetchJob($"chunk {id.Short}", manifest.BlockLength(b), async ct =>
                {
                    byte[] buf = ArrayPool<byte>.Shared.Rent(cs);
                    try { await chunks.ReadAsync(id, buf.AsMemory(0, cs), ct).ConfigureAwait(false); }
                    finally { ArrayPool<byte>.Shared.Return(buf); }
                }));
            }
        }
        return jobs;
    }

    /// <summary>Stops prefetching, writes the recorded profile and reports what the hot data did.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var p in _prefetchers)
        {
            await p.DisposeAsync().ConfigureAwait(false);
            options.Log.Prefetched(p.Done, p.Total, ByteSize.Format(p.Bytes), p.Elapsed.TotalSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture),
                p.PeakConcurrency, p.Failed > 0 ? $"; {p.Failed} failed" : "");
        }
        foreach (var s in _packs)
            options.Log.PacksLoaded(s.Loaded, s.Index.Packs.Count, ByteSize.Format(s.LoadedBytes));
        if (Recorder is { } rec && options.RecordProfile is { } path)
        {
            var profile = rec.ToProfile();
            Storage.Posix.AtomicFile.Write(path, profile.Serialize(), durable: true);
            options.Log.ProfileRecorded(rec.Name, profile.Reads.Count, ByteSize.Format(profile.ReadBytes), path);
        }
    }
}
