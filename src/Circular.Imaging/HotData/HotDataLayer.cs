using System.Buffers;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.HotData;
using Circular.Core.Refs;
using Circular.Imaging.Diagnostics;
using Circular.Imaging.Images;
using Circular.Storage.Archive;
using Circular.Storage.Chunks;
using Circular.Storage.Prefetch;
using Microsoft.Extensions.Logging;

namespace Circular.Imaging.HotData;

/// <summary>
/// Puts a version's hot data to work when a client opens it: packs under the reads, the profile recorder over them,
/// and a prefetcher that fetches the profiled packs and chunks in profile order. One set of layers per version,
/// shared by every open of it; this object owns them and ends them (writing the recorded profile) when disposed.
/// A long-running front end opens many versions over its life, and each set holds its manifest's block list and its
/// decoded packs: the sets are kept least recently opened first within <see cref="HotDataOptions.MaxRetainedBytes"/>,
/// and a set beyond it is let go (its prefetch stopped; opens already holding it keep reading; a later open builds it
/// again). The latest set and the one recording a profile are never let go.
/// </summary>
public sealed class HotDataLayer(ArchiveReader reader, IChunkSource chunks, HotDataOptions options) : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly LinkedList<VersionLayers> _lru = new();
    private readonly Dictionary<string, LinkedListNode<VersionLayers>> _versions = new(StringComparer.Ordinal);
    private long _retained;
    private ProfileRecorder? _recorder;

    /// <summary>One version's layers and what they keep in memory.</summary>
    private sealed class VersionLayers(string digest, long weight)
    {
        public string Digest => digest;
        public long Weight = weight;
        public Task<IVersionImage> Image = Task.FromResult<IVersionImage>(null!);
        public Prefetcher? Prefetcher;
        public PackStore? Packs;
        public bool Recording;
    }

    public HotDataOptions Options => options;

    /// <summary>The prefetchers of the versions whose layers are kept.</summary>
    public IReadOnlyCollection<Prefetcher> Prefetchers => Snapshot(l => l.Prefetcher);

    /// <summary>The pack stores of the versions whose layers are kept.</summary>
    public IReadOnlyCollection<PackStore> PackStores => Snapshot(l => l.Packs);

    public ProfileRecorder? Recorder => Volatile.Read(ref _recorder);

    /// <summary>Bytes the kept layers hold: manifest block lists and decoded packs.</summary>
    public long RetainedBytes { get { lock (_lock) return _retained; } }

    private List<T> Snapshot<T>(Func<VersionLayers, T?> pick) where T : class
    {
        lock (_lock) return _lru.Select(pick).OfType<T>().ToList();
    }

    /// <summary>The version with its hot-data layers: the same object for every open of one manifest while it is kept.</summary>
    /// <param name="refs">The image's refs as the version was resolved from them, when the caller has them: spares a fetch.</param>
    public Task<IVersionImage> OpenAsync(string image, VersionEntry entry, ChunkedImage chunked, ImageRefs? refs = null)
    {
        VersionLayers layers;
        List<VersionLayers> evicted;
        lock (_lock)
        {
            if (_versions.TryGetValue(entry.ManifestDigest, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                return node.Value.Image;
            }
            layers = new VersionLayers(entry.ManifestDigest, (long)chunked.Manifest.Map.Count * ChunkId.Size);
            _versions[entry.ManifestDigest] = _lru.AddFirst(layers);
            _retained += layers.Weight;
            layers.Image = BuildAsync(image, entry, chunked, layers, refs);
            evicted = EvictLocked();
        }
        foreach (var e in evicted) _ = ReleaseAsync(e);
        return layers.Image;
    }

    /// <summary>Drops the least recently opened sets beyond the budget (never the newest or the recording one).</summary>
    private List<VersionLayers> EvictLocked()
    {
        var evicted = new List<VersionLayers>();
        for (var node = _lru.Last; node is not null && node != _lru.First && _retained > options.MaxRetainedBytes;)
        {
            var prev = node.Previous;
            if (!node.Value.Recording)
            {
                _lru.Remove(node);
                _versions.Remove(node.Value.Digest);
                _retained -= node.Value.Weight;
                evicted.Add(node.Value);
            }
            node = prev;
        }
        return evicted;
    }

    /// <summary>Adds what a set turned out to hold (its packs) once built, and lets others go if that is too much.</summary>
    private void Grow(VersionLayers layers, long bytes)
    {
        List<VersionLayers> evicted;
        lock (_lock)
        {
            layers.Weight += bytes;
            if (!_versions.ContainsKey(layers.Digest)) return; // already let go
            _retained += bytes;
            evicted = EvictLocked();
        }
        foreach (var e in evicted) _ = ReleaseAsync(e);
    }

    /// <summary>Ends a version's layers (let go by the LRU or at dispose): stops its prefetcher, reports what it did.</summary>
    private async Task ReleaseAsync(VersionLayers layers)
    {
        try { await layers.Image.ConfigureAwait(false); }
        catch (Exception e) when (e is CircularException or IOException) { return; }
        if (layers.Prefetcher is { } p) await EndPrefetchAsync(p).ConfigureAwait(false);
        if (layers.Packs is { } s) ReportPacks(s);
    }

    private async Task<IVersionImage> BuildAsync(string image, VersionEntry entry, ChunkedImage chunked, VersionLayers layers, ImageRefs? refs)
    {
        await Task.Yield(); // out of the caller's lock
        var ct = CancellationToken.None; // shared by every open: one caller's cancellation must not fail the others
        IVersionImage top = chunked;
        // Both small files at once: on a WAN each is a round trip before prefetching can start.
        var indexLoad = options.Packs && entry.Packs is not null
            ? TryAsync(() => reader.GetPackIndexAsync(image, entry, ct), $"packs of {chunked.Name}") : Task.FromResult<PackIndex?>(null);
        var profileLoad = options.Prefetch && entry.Profile is not null
            ? TryAsync(() => reader.GetProfileAsync(image, entry, ct), $"profile of {chunked.Name}") : Task.FromResult<BootProfile?>(null);
        var foreignLoad = options.Packs && entry.Packs is not null ? FindForeignAsync(image, entry, refs, ct) : Task.FromResult(ForeignPages.None);
        PackStore? store = null;
        PackedImage? packed = null;
        HashSet<int> unused = [];
        if (await indexLoad.ConfigureAwait(false) is { } index)
        {
            if (index.ManifestDigest != entry.ManifestDigest)
            {
                options.Log.PacksForAnotherManifest(chunked.Name);
            }
            else
            {
                store = new PackStore(reader.Backend, index);
                layers.Packs = store;
                var foreign = await foreignLoad.ConfigureAwait(false);
                unused = PackChoice.Unneeded(index, chunked.Manifest.Map, chunks, reader.Backend, foreign);
                if (unused.Count > 0) options.Log.PacksHeldAsChunks(chunked.Name, unused.Count, index.Packs.Count);
                Grow(layers, index.Packs.Where((_, i) => !unused.Contains(i)).Sum(p => (long)p.Length) + foreign.PackBytes);
                top = packed = new PackedImage(top, store, unused, foreign) { Log = options.Log };
            }
        }
        if (options.RecordProfile is not null && Interlocked.CompareExchange(ref _recorder, new ProfileRecorder(top, entry.ManifestDigest, options.Clock), null) is null)
        {
            lock (_lock) layers.Recording = true;
            top = _recorder!;
        }
        if (await profileLoad.ConfigureAwait(false) is { } profile)
        {
            var jobs = PlanJobs(profile, chunked, packed, store, unused);
            if (jobs.Count > 0)
            {
                var gate = new DemandGate();
                var prefetcher = new Prefetcher(jobs, gate, options.Prefetcher);
                layers.Prefetcher = prefetcher;
                top = new DemandTrackingImage(top, gate);
                prefetcher.Start();
                if (options.Log.IsEnabled(LogLevel.Debug))
                    _ = prefetcher.Completion.ContinueWith(_ => options.Log.PrefetchFinished(chunked.Name, prefetcher.Done, prefetcher.Total,
                        ByteSize.Format(prefetcher.Bytes), prefetcher.Elapsed.TotalSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)), TaskScheduler.Default);
            }
        }
        return top;
    }

    /// <summary>Pages of other versions' cached packs (a shortcut: nothing found when anything fails).</summary>
    private async Task<ForeignPages> FindForeignAsync(string image, VersionEntry entry, ImageRefs? refs, CancellationToken ct)
    {
        try { return await ForeignPages.FindAsync(reader, image, entry, ct, refs).ConfigureAwait(false); }
        catch (Exception e) when (e is CircularException or IOException) { return ForeignPages.None; }
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
    private List<PrefetchJob> PlanJobs(BootProfile profile, ChunkedImage chunked, PackedImage? packed, PackStore? store, HashSet<int> unused)
    {
        var jobs = new List<PrefetchJob>();
        if (store is not null)
        {
            for (int i = 0; i < store.Index.Packs.Count; i++)
            {
                if (unused.Contains(i)) continue;
                int pack = i;
                jobs.Add(new PrefetchJob($"pack {pack}", store.Index.Packs[pack].Stored, async ct => await store.GetAsync(pack, ct).ConfigureAwait(false)));
            }
        }
        var manifest = chunked.Manifest;
        if (profile.Size != manifest.ImageSize) return jobs; // recorded on an image of another size: its offsets mean nothing here
        var map = manifest.Map;
        var seen = new HashSet<ChunkId>();
        foreach (var read in profile.Entries)
        {
            foreach (int i in map.Covering(read.Offset, read.Length))
            {
                var chunk = map.Ref(i);
                var id = chunk.Id;
                if (id.IsZero || seen.Contains(id)) continue;
                // The part of the read in this chunk may be held already (a pack, another version's cached pack).
                long from = Math.Max(read.Offset, map.Offset(i)), to = Math.Min(read.Offset + read.Length, map.End(i));
                if (packed is not null && packed.Covers(from, to - from)) continue;
                seen.Add(id);
                int length = (int)map.Length(i);
                jobs.Add(new PrefetchJob($"chunk {id.Short}", length, async ct =>
                {
                    byte[] buf = ArrayPool<byte>.Shared.Rent(length);
                    try { await chunks.ReadAsync(chunk, buf.AsMemory(0, length), ct).ConfigureAwait(false); }
                    finally { ArrayPool<byte>.Shared.Return(buf); }
                }));
            }
        }
        return jobs;
    }

    private async ValueTask EndPrefetchAsync(Prefetcher p)
    {
        await p.DisposeAsync().ConfigureAwait(false);
        options.Log.Prefetched(p.Done, p.Total, ByteSize.Format(p.Bytes), p.Elapsed.TotalSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture),
            p.PeakConcurrency, p.Failed > 0 ? $"; {p.Failed} failed" : "");
    }

    private void ReportPacks(PackStore s) => options.Log.PacksLoaded(s.Loaded, s.Index.Packs.Count, ByteSize.Format(s.LoadedBytes));

    /// <summary>Stops prefetching, writes the recorded profile and reports what the hot data did.</summary>
    public async ValueTask DisposeAsync()
    {
        List<VersionLayers> all;
        lock (_lock)
        {
            all = [.. _lru];
            _lru.Clear();
            _versions.Clear();
            _retained = 0;
        }
        foreach (var layers in all) await ReleaseAsync(layers).ConfigureAwait(false);
        if (Recorder is { } rec && options.RecordProfile is { } path)
        {
            var profile = rec.ToProfile();
            Storage.Posix.AtomicFile.Write(path, profile.Serialize(), durable: true);
            options.Log.ProfileRecorded(rec.Name, profile.Reads.Count, ByteSize.Format(profile.ReadBytes), path);
        }
    }
}
