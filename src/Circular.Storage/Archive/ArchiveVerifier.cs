using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Storage.Backends;

namespace Circular.Storage.Archive;

/// <summary>Re-hashes every chunk that the chosen versions reference and names each bad one with the versions it breaks.</summary>
public sealed class ArchiveVerifier(ArchiveReader reader)
{
    private long _checked;

    public long Checked => Interlocked.Read(ref _checked);

    public sealed record Problem(string Subject, string Detail, IReadOnlyList<string> Breaks);

    /// <param name="Packs">Pack files (docs/format.md, "Packs") and the versions whose pack indexes name them.</param>
    public sealed record Plan(Dictionary<ChunkId, List<string>> Chunks, List<Problem> ManifestProblems, int Versions)
    {
        public Dictionary<ChunkId, List<string>> Packs { get; init; } = [];
    }

    /// <summary>Loads manifests and maps each referenced chunk to the versions that use it.</summary>
    public async Task<Plan> PlanAsync(ImageSpec? only, CancellationToken ct)
    {
        var chunks = new Dictionary<ChunkId, List<string>>();
        var packs = new Dictionary<ChunkId, List<string>>();
        var problems = new List<Problem>();
        int versions = 0;
        var images = only is { } o ? [o.Name] : await reader.ListImagesAsync(ct).ConfigureAwait(false);
        foreach (var image in images)
        {
            var refs = await reader.GetRefsAsync(image, ct).ConfigureAwait(false);
            var entries = only is { Selector: not null } s ? [ArchiveReader.Resolve(refs, s)] : refs.Versions;
            foreach (var entry in entries)
            {
                string label = $"{image}@{entry.Version}";
                versions++;
                try
                {
                    var m = await reader.GetManifestAsync(image, entry, ct).ConfigureAwait(false);
                    foreach (var id in m.ReferencedChunks())
                    {
                        if (!chunks.TryGetValue(id, out var users)) chunks[id] = users = [];
                        users.Add(label);
                    }
                }
                catch (CircularException e) when (e.Kind is ErrorKind.Corrupt or ErrorKind.Untrusted)
                {
                    problems.Add(new Problem($"manifest {label}", e.Message, [label]));
                }
                // A bad manifest patch, profile or pack index only slows a boot down (clients fall back to chunks), but it is still damage.
                if (await reader.PatchProblemAsync(image, entry, refs, ct).ConfigureAwait(false) is { } patchProblem)
                    problems.Add(new Problem($"manifest patch of {label}", patchProblem, [label]));
                try { await reader.GetProfileAsync(image, entry, ct).ConfigureAwait(false); }
                catch (CircularException e) when (e.Kind is ErrorKind.Corrupt) { problems.Add(new Problem($"profile of {label}", e.Message, [label])); }
                try
                {
                    if (await reader.GetPackIndexAsync(image, entry, ct).ConfigureAwait(false) is { } index)
                        foreach (var pack in index.Packs)
                        {
                            if (!packs.TryGetValue(pack.ChunkId, out var users)) packs[pack.ChunkId] = users = [];
                            users.Add(label);
                        }
                }
                catch (CircularException e) when (e.Kind is ErrorKind.Corrupt) { problems.Add(new Problem($"pack index of {label}", e.Message, [label])); }
            }
        }
        return new Plan(chunks, problems, versions) { Packs = packs };
    }

    public async Task<List<Problem>> CheckAsync(Plan plan, int parallelism, CancellationToken ct)
    {
        var problems = new List<Problem>(plan.ManifestProblems);
        var opts = new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct };
        await Parallel.ForEachAsync(plan.Chunks, opts, async (kv, token) =>
        {
            string? detail = await CheckObjectAsync(ObjectHandle.Chunk(kv.Key), kv.Key, token).ConfigureAwait(false);
            Interlocked.Increment(ref _checked);
            if (detail is not null)
                lock (problems) problems.Add(new Problem($"chunk {kv.Key.ToHex()}", detail, kv.Value));
        }).ConfigureAwait(false);
        await Parallel.ForEachAsync(plan.Packs, opts, async (kv, token) =>
        {
            string? detail = await CheckObjectAsync(ObjectHandle.Pack(kv.Key), kv.Key, token).ConfigureAwait(false);
            if (detail is not null)
                lock (problems) problems.Add(new Problem($"pack {kv.Key.ToHex()}", detail, kv.Value));
        }).ConfigureAwait(false);
        return problems;
    }

    /// <summary>Chunks and packs share one file format: decode and compare the content's hash with the name.</summary>
    private async Task<string?> CheckObjectAsync(ObjectHandle handle, ChunkId id, CancellationToken ct)
    {
        BackendObject? obj;
        try { obj = await reader.Backend.TryReadAsync(handle, ReadHints.None, ct).ConfigureAwait(false); }
        catch (BackendUnavailableException e) { return "unreadable: " + e.Message; }
        catch (ArchiveFormatException e) { return "corrupt: " + e.Message; }
        if (obj is null) return "missing";
        var buf = new byte[ChunkFile.MaxChunkLength];
        try
        {
            ChunkFile.DecodeVerified(id, obj.Source, obj.Data, buf);
            return null;
        }
        catch (ChunkIntegrityException e) { return "corrupt: " + e.Detail; }
    }
}
