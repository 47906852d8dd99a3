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

    public sealed record Plan(Dictionary<ChunkId, List<string>> Chunks, List<Problem> ManifestProblems, int Versions);

    /// <summary>Loads manifests and maps each referenced chunk to the versions that use it.</summary>
    public async Task<Plan> PlanAsync(ImageSpec? only, CancellationToken ct)
    {
        var chunks = new Dictionary<ChunkId, List<string>>();
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
                catch (ArchiveFormatException e)
                {
                    problems.Add(new Problem($"manifest {label}", e.Message, [label]));
                }
            }
        }
        return new Plan(chunks, problems, versions);
    }

    public async Task<List<Problem>> CheckAsync(Plan plan, int parallelism, CancellationToken ct)
    {
        var problems = new List<Problem>(plan.ManifestProblems);
        var opts = new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct };
        await Parallel.ForEachAsync(plan.Chunks, opts, async (kv, token) =>
        {
            string? detail = await CheckChunkAsync(kv.Key, token).ConfigureAwait(false);
            Interlocked.Increment(ref _checked);
            if (detail is not null)
                lock (problems) problems.Add(new Problem($"chunk {kv.Key.ToHex()}", detail, kv.Value));
        }).ConfigureAwait(false);
        return problems;
    }

    private async Task<string?> CheckChunkAsync(ChunkId id, CancellationToken ct)
    {
        BackendObject? obj;
        try { obj = await reader.Backend.TryReadAsync(ArchiveLayout.ChunkPath(id), ReadHints.None, ct).ConfigureAwait(false); }
        catch (BackendUnavailableException e) { return "unreadable: " + e.Message; }
        if (obj is null) return "missing";
        var buf = new byte[ChunkFile.MaxChunkLength];
        try
        {
            ChunkFile.DecodeVerified(id, obj.Source, obj.Data, buf);
            return null;
        }
        catch (ChunkIntegrityException e) { return "corrupt: " + e.Message[(e.Message.IndexOf(": ", StringComparison.Ordinal) + 2)..]; }
    }
}
