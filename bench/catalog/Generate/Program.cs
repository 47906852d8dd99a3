using System.Security.Cryptography;
using System.Text;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Manifests;
using Circular.Core.Refs;
using Circular.Storage.Archive;

// catalog-archive-gen DIR IMAGES VERSIONS: an archive whose images each have VERSIONS versions of a 64 MiB image
// (256 blocks of 256 KiB; each version changes 4 blocks). Only metadata is written (refs, manifests, images.json):
// the catalog reads nothing else, and the chunks of 20,000 versions would take hours to push.
if (args.Length != 3 || !int.TryParse(args[1], out int images) || !int.TryParse(args[2], out int versions))
{
    Console.Error.WriteLine("usage: catalog-archive-gen DIR IMAGES VERSIONS");
    return 2;
}
string root = args[0];
const int chunkSize = 256 << 10, blocks = 256;
await WritableArchive.InitAsync(root, new ArchiveConfig { Created = DateTimeOffset.UtcNow, ChunkSize = chunkSize }, CancellationToken.None);
var names = new List<string>();
var start = DateTimeOffset.UtcNow.AddDays(-versions);
for (int i = 1; i <= images; i++)
{
    string name = $"distro-{i:00}";
    names.Add(name);
    Directory.CreateDirectory(Path.Combine(root, "images", name, "versions"));
    var ids = Enumerable.Range(0, blocks).Select(k => Id(name, k, 0)).ToArray();
    var entries = new List<VersionEntry>();
    for (int v = 1; v <= versions; v++)
    {
        for (int c = 0; c < 4; c++) ids[(v * 7 + c * 61) % blocks] = Id(name, (v * 7 + c * 61) % blocks, v);
        var created = start.AddDays(v);
        var meta = new ManifestMetadata { Image = name, Version = v, Created = created, Message = $"nightly build {v}: security updates", Parent = v > 1 ? v - 1 : null, Codec = "zstd" };
        byte[] manifest = new Manifest(meta, chunkSize, (long)blocks * chunkSize, (ChunkId[])ids.Clone()).Serialize();
        File.WriteAllBytes(Path.Combine(root, ArchiveLayout.ManifestPath(name, v)), manifest);
        entries.Add(new VersionEntry {
            Version = v,
            ManifestDigest = Manifest.Digest(manifest),
            Size = (long)blocks * chunkSize,
            ChunkSize = chunkSize,
            Created = created,
            Message = meta.Message,
            Blocks = blocks,
            ZeroBlocks = 0,
            AddedChunks = v == 1 ? blocks : 4,
            AddedBytes = (v == 1 ? blocks : 4) * 120_000L,
        });
    }
    var refs = new ImageRefs {
        Image = name,
        Serial = versions,
        Updated = start.AddDays(versions),
        Latest = versions,
        Versions = entries,
        Tags = new Dictionary<string, int>(StringComparer.Ordinal) { ["stable"] = versions - 10, ["lts"] = versions / 2 },
        Description = $"Distribution {i}: a nightly-built server image",
    };
    File.WriteAllBytes(Path.Combine(root, ArchiveLayout.RefsPath(name)), refs.Serialize());
}
File.WriteAllBytes(Path.Combine(root, ArchiveLayout.ImageIndexPath), new ImageIndex { Images = names }.Serialize());
Console.WriteLine($"wrote {images} images x {versions} versions to {root}");
return 0;

static ChunkId Id(string name, int block, int generation) =>
    ChunkId.FromBytes(SHA256.HashData(Encoding.ASCII.GetBytes($"{name}/{block}/{generation}")));
