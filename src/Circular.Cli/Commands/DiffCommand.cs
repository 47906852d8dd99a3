using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Client;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;

namespace Circular.Cli.Commands;

public static class DiffCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Archive directory, URL or s3://BUCKET/PREFIX" };
        var a = new Argument<string>("A") { Description = "NAME@VERSION (or @TAG)" };
        var b = new Argument<string>("B") { Description = "NAME@VERSION (or @TAG)" };
        var client = new ClientOptions();
        var cmd = new Command("diff", "Count the blocks and bytes that differ between two versions") { archive, a, b };
        client.AddTo(cmd);
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            var sa = ImageSpec.Parse(pr.GetValue(a)!);
            var sb = ImageSpec.Parse(pr.GetValue(b)!);
            await using var stack = await ArchiveClient.OpenAsync(client.Read(pr, pr.GetValue(archive)!), ct);
            var (_, ea, ma) = await stack.Reader.OpenVersionAsync(sa, ct);
            var (_, eb, mb) = await stack.Reader.OpenVersionAsync(sb, ct);
            if (ma.ChunkSize != mb.ChunkSize)
                throw new CircularException($"{sa} and {sb} use different chunk sizes ({ma.ChunkSize}, {mb.ChunkSize}); compare them with 'cat' and cmp");
            long blocks = Math.Max(ma.Blocks.LongLength, mb.Blocks.LongLength);
            long diffBlocks = 0, diffBytes = 0;
            for (long i = 0; i < blocks; i++)
            {
                var x = i < ma.Blocks.LongLength ? ma.Blocks[i] : ChunkId.Zero;
                var y = i < mb.Blocks.LongLength ? mb.Blocks[i] : ChunkId.Zero;
                bool inA = i < ma.Blocks.LongLength, inB = i < mb.Blocks.LongLength;
                if (x != y || inA != inB)
                {
                    diffBlocks++;
                    diffBytes += Math.Max(inA ? ma.BlockLength(i) : 0, inB ? mb.BlockLength(i) : 0);
                }
            }
            System.Console.WriteLine($"{sa.Name}@{ea.Version} -> {sb.Name}@{eb.Version}: {diffBlocks} of {blocks} blocks differ ({ByteSize.Format(diffBytes)}; {diffBytes} bytes)");
            if (ma.ImageSize != mb.ImageSize) System.Console.WriteLine($"size: {ma.ImageSize} -> {mb.ImageSize} bytes");
            return CommandAction.Ok;
        });
        return cmd;
    }
}
