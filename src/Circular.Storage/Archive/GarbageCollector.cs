using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Refs;

namespace Circular.Storage.Archive;

/// <summary>
/// Deletes what no kept version references. Holds the archive's chunk lock exclusively, so no push or commit
/// (which hold it shared from their first chunk write to their refs swap) can be about to reference a chunk it deletes.
/// </summary>
public sealed class GarbageCollector(WritableArchive archive)
{
    public sealed record Report(List<string> ForgottenVersions, long Chunks, long ChunksDeleted, long BytesFreed, long TempFilesDeleted)
    {
        /// <summary>Profiles, pack indexes and packs no kept version names any more.</summary>
        public long HotFilesDeleted { get; init; }
    }

    /// <param name="keepLast">Keep only the newest N versions of each image (plus latest and tagged ones); null keeps all.</param>
    public async Task<Report> RunAsync(int? keepLast, bool dryRun, CancellationToken ct)
    {
        await using var exclusive = await archive.LockChunksAsync(exclusive: true, ct).ConfigureAwait(false);
        var reader = archive.Reader;
        var referenced = new HashSet<ChunkId>();
        var referencedPacks = new HashSet<ChunkId>();
        var forgotten = new List<string>();
        long hotDeleted = 0;
        foreach (var image in await reader.ListImagesAsync(ct).ConfigureAwait(false))
        {
            var refs = await reader.GetRefsAsync(image, ct).ConfigureAwait(false);
            var keep = Kept(refs, keepLast);
            foreach (var v in refs.Versions.Where(v => keep.Contains(v.Version)))
                referenced.UnionWith((await reader.GetManifestAsync(image, v, ct).ConfigureAwait(false)).ReferencedChunks());
            var drop = refs.Versions.Where(v => !keep.Contains(v.Version)).Select(v => v.Version).ToList();
            forgotten.AddRange(drop.Select(v => $"{image}@{v}"));
            if (!dryRun && drop.Count > 0)
            {
                await archive.UpdateRefsAsync(image, r => r with { Versions = r.Versions.Where(v => keep.Contains(v.Version)).ToList() }, ct).ConfigureAwait(false);
                foreach (var v in drop) await archive.Backend.DeleteAsync(ObjectHandle.Manifest(image, v).Path, ct).ConfigureAwait(false);
            }
            if (!dryRun) await DeleteOrphanManifestsAsync(image, keep, ct).ConfigureAwait(false);
            var kept = refs.Versions.Where(v => keep.Contains(v.Version)).ToList();
            foreach (var v in kept)
                if (await reader.GetPackIndexAsync(image, v, ct).ConfigureAwait(false) is { } index)
                    referencedPacks.UnionWith(index.Packs.Select(p => p.ChunkId));
            hotDeleted += await DeleteUnnamedAsync(ObjectKind.Profile, image, kept.Select(v => v.Profile), dryRun, ct).ConfigureAwait(false);
            hotDeleted += await DeleteUnnamedAsync(ObjectKind.PackIndex, image, kept.Select(v => v.Packs), dryRun, ct).ConfigureAwait(false);
        }
        hotDeleted += await DeleteUnnamedAsync(ObjectKind.Pack, null, referencedPacks.Select(id => (string?)id.ToHex()), dryRun, ct).ConfigureAwait(false);

        long total = 0, deleted = 0, freed = 0, temps = 0;
        await foreach (var e in archive.Backend.ListAsync(ObjectKind.Chunk, null, ct).ConfigureAwait(false))
        {
            string file = e.Name;
            if (file.StartsWith(".tmp-", StringComparison.Ordinal))
            {
                // Left by a killed push; no live writer exists while we hold the exclusive lock.
                temps++;
                if (!dryRun) await archive.Backend.DeleteAsync(e.Path, ct).ConfigureAwait(false);
                continue;
            }
            if (!ChunkId.TryParse(file, out var id)) continue;
            total++;
            if (referenced.Contains(id)) continue;
            deleted++;
            freed += e.Length;
            if (dryRun) continue;
            archive.Store.ThrowIfLocksLost(); // a lapsed lease: a push may be about to reference this chunk
            await archive.Backend.DeleteAsync(e.Path, ct).ConfigureAwait(false);
        }
        return new Report(forgotten, total, deleted, freed, temps) { HotFilesDeleted = hotDeleted };
    }

    private static HashSet<int> Kept(ImageRefs refs, int? keepLast)
    {
        var keep = new HashSet<int>(keepLast is int n
            ? refs.Versions.Select(v => v.Version).OrderDescending().Take(n)
            : refs.Versions.Select(v => v.Version)) { refs.Latest };
        keep.UnionWith(refs.Tags.Values);
        return keep;
    }

    /// <summary>Deletes the stored objects of a kind whose names are not in <paramref name="keep"/> (content-addressed files).</summary>
    private async Task<long> DeleteUnnamedAsync(ObjectKind kind, string? image, IEnumerable<string?> keep, bool dryRun, CancellationToken ct)
    {
        var names = keep.OfType<string>().ToHashSet(StringComparer.Ordinal);
        var doomed = new List<string>();
        await foreach (var e in archive.Backend.ListAsync(kind, image, ct).ConfigureAwait(false))
            if (!names.Contains(e.Name)) doomed.Add(e.Path);
        if (!dryRun)
            foreach (var path in doomed)
            {
                archive.Store.ThrowIfLocksLost();
                await archive.Backend.DeleteAsync(path, ct).ConfigureAwait(false);
            }
        return doomed.Count;
    }

    /// <summary>Manifests and manifest patches of versions the refs do not keep, and writers' leftovers among them.</summary>
    private async Task DeleteOrphanManifestsAsync(string image, HashSet<int> keep, CancellationToken ct)
    {
        foreach (var kind in new[] { ObjectKind.Manifest, ObjectKind.ManifestPatch })
            await foreach (var e in archive.Backend.ListAsync(kind, image, ct).ConfigureAwait(false))
            {
                string file = e.Name;
                if (file.StartsWith(".tmp-", StringComparison.Ordinal) || (int.TryParse(file, out int v) && !keep.Contains(v)))
                    await archive.Backend.DeleteAsync(e.Path, ct).ConfigureAwait(false);
            }
    }
}
