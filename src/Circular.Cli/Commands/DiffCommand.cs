using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.Manifests;

namespace Circular.Cli.Commands;

public static class DiffCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory, URL or s3://BUCKET/PREFIX" };
        var a = new Argument<string>("A") { Description = "NAME@VERSION (or @TAG)" };
        var b = new Argument<string>("B") { Description = "NAME@VERSION (or @TAG)" };
        var client = new ClientOptions();
        var cmd = new Command("diff", "Count the blocks and bytes that differ between two versions, and what B shares with A by content") { archive, a, b };
        client.AddTo(cmd);
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            var sa = ImageSpec.Parse(pr.GetValue(a)!);
            var sb = ImageSpec.Parse(pr.GetValue(b)!);
            await using var stack = await ArchiveClient.OpenAsync(client.Read(pr, pr.GetValue(archive)!), ct);
            var (_, ea, ma) = await stack.Reader.OpenVersionAsync(sa, ct);
            var (_, eb, mb) = await stack.Reader.OpenVersionAsync(sb, ct);
            string head = $"{sa.Name}@{ea.Version} -> {sb.Name}@{eb.Version}";
            var delta = ManifestDelta.Between(ma.Map, mb.Map);
            if (ma.Map.IsGrid && mb.Map.IsGrid && ma.ChunkSize == mb.ChunkSize)
            {
                var (diffBlocks, blocks, diffBytes) = GridDifference(ma.Map, mb.Map);
                System.Console.WriteLine($"{head}: {diffBlocks} of {blocks} blocks differ ({ByteSize.Format(diffBytes)}; {diffBytes} bytes)");
            }
            else
            {
                // No shared grid: what differs is what B holds that A lacks anywhere.
                string how = ma.Chunking == mb.Chunking && ma.ChunkSize == mb.ChunkSize ? Describe(mb) : $"{Describe(ma)} and {Describe(mb)}";
                System.Console.WriteLine($"{head}: {delta.NewChunks} of {delta.Chunks} chunks are new ({ByteSize.Format(delta.NewBytes)}; {delta.NewBytes} bytes; {how})");
            }
            System.Console.WriteLine($"data: {ByteSize.Format(delta.DataBytes)} in {sb.Name}@{eb.Version}, {ByteSize.Format(delta.SharedBytes)} shared with {sa.Name}@{ea.Version}, " +
                $"{ByteSize.Format(delta.NewBytes)} new in {delta.NewChunks} chunks ({delta.NewBytes} bytes)");
            if (ma.ImageSize != mb.ImageSize) System.Console.WriteLine($"size: {ma.ImageSize} -> {mb.ImageSize} bytes");
            return CommandAction.Ok;
        });
        return cmd;
    }

    /// <summary>Blocks that differ at the same place of two grids of one block size, and their bytes.</summary>
    private static (long Differ, long Blocks, long Bytes) GridDifference(ChunkMap a, ChunkMap b)
    {
        long blocks = Math.Max(a.Count, b.Count);
        long differ = 0, bytes = 0;
        for (int i = 0; i < blocks; i++)
        {
            bool inA = i < a.Count, inB = i < b.Count;
            if (inA && inB && a.Id(i) == b.Id(i)) continue;
            differ++;
            bytes += Math.Max(inA ? a.Length(i) : 0, inB ? b.Length(i) : 0);
        }
        return (differ, blocks, bytes);
    }

    private static string Describe(Manifest m) =>
        m.Chunking == Chunking.Content ? $"content chunks averaging {ByteSize.Format(m.ChunkSize)}" : $"{ByteSize.Format(m.ChunkSize)} blocks";
}
