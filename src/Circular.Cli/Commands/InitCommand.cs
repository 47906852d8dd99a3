using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Storage.Archive;

namespace Circular.Cli.Commands;

public static class InitCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Directory to create the archive in (new or empty), or s3://BUCKET/PREFIX (an existing bucket; the prefix holding nothing)" };
        var chunkSize = new Option<string>("--chunk-size") { Description = "Default block size for pushes: a power of two from 64K to 4M", DefaultValueFactory = _ => "256K" };
        var codec = new Option<string>("--codec") { Description = "Default chunk compression: zstd or zlib", DefaultValueFactory = _ => "zstd" };
        var cmd = new Command("init", "Create an empty archive: a directory any static web server can serve as it is") { archive, chunkSize, codec };
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            string path = pr.GetValue(archive)!;
            var config = new ArchiveConfig {
                ChunkSize = ChunkSizes.ParseChunkSize(pr.GetValue(chunkSize)!),
                Codec = ChunkCodecNames.Parse(pr.GetValue(codec)!).Name(),
                Created = DateTimeOffset.UtcNow,
            };
            await ArchiveStores.InitAsync(pr, path, config, ct);
            System.Console.WriteLine($"created archive {(ArchiveStores.IsS3(path) ? path : Path.GetFullPath(path))} (chunks {ByteSize.Format(config.ChunkSize)}, {config.Codec})");
            return CommandAction.Ok;
        });
        return cmd;
    }
}
