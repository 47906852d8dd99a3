using System.CommandLine;
using Circular.Cli.Composition;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Storage.Archive;

namespace Circular.Cli.Commands;

public static class InitCommand
{
    public static Command Create()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "Directory to create the archive in (new or empty), or s3://BUCKET/PREFIX (an existing bucket; the prefix holding nothing)" };
        var chunkSize = new Option<string>("--chunk-size") { Description = "Default block size for pushes: a power of two from 64K to 4M", DefaultValueFactory = _ => "256K" };
        var codec = new Option<string>("--codec") { Description = "Default chunk compression: zstd or zlib", DefaultValueFactory = _ => "zstd" };
        var format = new Option<int>("--format") {
            Description = "Archive format version: 2 (manifests record each stored chunk file's digest, so clients verify what they "
                + "receive with one hash over the compressed bytes; content-defined chunks) or 1 (readable by circular releases "
                + "before 2026-12; raised to 2 by the first `push --chunking content`)",
            DefaultValueFactory = _ => ArchiveConfig.CurrentFormatVersion,
        };
        var cmd = new Command("init", "Create an empty archive: a directory any static web server can serve as it is") { archive, chunkSize, codec, format };
        CommandAction.Set(cmd, async (pr, ct) =>
        {
            string path = pr.GetValue(archive)!;
            int version = pr.GetValue(format);
            if (version is < 1 or > ArchiveConfig.CurrentFormatVersion)
                throw new UsageException($"--format {version}: this program writes archive formats 1 and {ArchiveConfig.CurrentFormatVersion}");
            var config = new ArchiveConfig {
                FormatVersion = version,
                ChunkSize = ChunkSizes.ParseChunkSize(pr.GetValue(chunkSize)!),
                Codec = ChunkCodecNames.Parse(pr.GetValue(codec)!).Name(),
                Created = DateTimeOffset.UtcNow,
            };
            await ArchiveStores.InitAsync(pr, path, config, ct);
            System.Console.WriteLine($"created archive {(ArchiveStores.IsS3(path) ? path : Path.GetFullPath(path))} (format {config.FormatVersion}, chunks {ByteSize.Format(config.ChunkSize)}, {config.Codec})");
            return CommandAction.Ok;
        });
        return cmd;
    }
}
