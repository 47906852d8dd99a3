using Circular.Boot.Kexec;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Storage.Archive;
using Circular.Storage.Writing;
using Circular.Testing;

namespace Circular.Boot.Tests;

public class BootMenuTests
{
    private const int Cs = 64 * 1024;

    [Fact]
    public async Task The_caller_learns_the_default_before_the_wait_whatever_is_then_chosen()
    {
        using var scratch = new Scratch();
        string dir = scratch["a"];
        await WritableArchive.InitAsync(dir, new ArchiveConfig { Created = DateTimeOffset.UtcNow }, CancellationToken.None);
        var archive = await WritableArchive.OpenAsync(dir, CancellationToken.None);
        await PushAsync(archive, "os", 1);
        await PushAsync(archive, "os", 2);
        await PushAsync(archive, "tools", 3);
        var reader = await ArchiveReader.OpenAsync(archive.Backend, CancellationToken.None);

        // Nothing typed: the default is announced, then taken.
        var shown = new List<string>();
        var menu = new StringWriter();
        var taken = await BootMenu.ChooseAsync(reader, ImageSpec.Parse("os@1"), 5, TextReader.Null, menu, CancellationToken.None, s => shown.Add(s.ToString()));
        Assert.Equal("os@1", taken.ToString());
        Assert.Equal(["os@1"], shown);
        Assert.Contains("Boot which? [os@1, in 5 s]", menu.ToString());

        // Another entry typed: the default was still announced first (its preparation is then dropped by the caller).
        shown.Clear();
        var picked = await BootMenu.ChooseAsync(reader, null, 5, new StringReader("2\n"), TextWriter.Null, CancellationToken.None, s => shown.Add(s.ToString()));
        Assert.Equal("tools@1", picked.ToString());
        Assert.Equal(["os@2"], shown);
    }

    private static async Task PushAsync(WritableArchive archive, string image, int seed)
    {
        var writer = new ChunkWriter(archive.Backend, ChunkCodec.Zstd, 3);
        var id = await writer.PutAsync(RandomData.Bytes(Cs, seed), new byte[ChunkFile.MaxEncodedLength(Cs)], CancellationToken.None);
        await archive.PublishAsync(image, (v, prev) =>
        {
            var meta = new ManifestMetadata { Image = image, Version = v, Created = DateTimeOffset.UtcNow, Parent = prev?.Latest };
            var manifest = new Manifest(meta, Cs, Cs, [id]);
            return (manifest, new VersionEntry { Version = v, ManifestDigest = "", Size = manifest.ImageSize, ChunkSize = Cs, Blocks = 1, AddedChunks = writer.NewChunks });
        }, null, CancellationToken.None);
    }
}
