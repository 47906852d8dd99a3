using System.Text;
using Circular.Core.Chunks;
using Circular.Core.Errors;
using Circular.Core.HotData;
using Circular.Core.Refs;

namespace Circular.Core.Tests;

public class HotDataFormatTests
{
    private static readonly string Digest = new('a', 64);

    private static BootProfile Profile(params long[][] reads) => new() {
        Image = "os",
        Version = 1,
        ManifestDigest = Digest,
        Size = 1 << 20,
        ChunkSize = 256 << 10,
        Reads = reads.ToList(),
    };

    [Fact]
    public void Profile_roundTrips_andKeepsOrder()
    {
        var p = Profile([5, 8192, 4096], [9, 0, 8192], [12, (1 << 20) - 4096, 4096]);
        var back = BootProfile.Parse(p.Serialize(), "test");
        Assert.Equal([8192L, 0, (1 << 20) - 4096], back.Entries.Select(e => e.Offset));
        Assert.Equal(16384, back.ReadBytes);
        Assert.Equal(Digest, back.ManifestDigest);
    }

    [Theory]
    [InlineData(new long[] { 0, 100, 4096 })]          // not page-aligned
    [InlineData(new long[] { 0, 0, 100 })]             // short length inside the image
    [InlineData(new long[] { 0, 1044480, 8192 })]      // past the end
    [InlineData(new long[] { -1, 0, 4096 })]           // negative time
    [InlineData(new long[] { 0, 0 })]                  // two fields
    public void Profile_badEntry_isRefused(long[] entry)
    {
        var e = Assert.Throws<ArchiveFormatException>(() => BootProfile.Parse(Profile(entry).Serialize(), "test"));
        Assert.Contains("bad read entry", e.Message);
    }

    [Fact]
    public void Profile_otherFormatOrVersion_isRefused()
    {
        Assert.Throws<ArchiveFormatException>(() => BootProfile.Parse("{\"format\":\"x\",\"image\":\"a\",\"manifest\":\"b\"}"u8, "t"));
        var future = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Profile().Serialize()).Replace("\"formatVersion\":1", "\"formatVersion\":2"));
        Assert.Contains("format version 2", Assert.Throws<ArchiveFormatException>(() => BootProfile.Parse(future, "t")).Message);
        Assert.Throws<ArchiveFormatException>(() => BootProfile.Parse("not json"u8, "t"));
    }

    private static PackIndex Index(params long[][] regions) => new() {
        Image = "os",
        Version = 1,
        ManifestDigest = Digest,
        ProfileDigest = Digest,
        Size = 1 << 20,
        Packs = [new PackInfo { Id = new string('b', 64), Length = 16384, Stored = 100 }],
        Regions = regions.ToList(),
    };

    [Fact]
    public void PackIndex_roundTrips()
    {
        var back = PackIndex.Parse(Index([8192, 4096, 0, 0], [0, 8192, 0, 4096]).Serialize(), "t");
        Assert.Equal([new PackRegion(8192, 4096, 0, 0), new PackRegion(0, 8192, 0, 4096)], back.Entries);
    }

    [Fact]
    public void PackIndex_storedDigest_roundTrips_isOmittedWhenUnset_andMustBeADigest()
    {
        var index = Index([0, 4096, 0, 0]);
        Assert.DoesNotContain("storedDigest", Encoding.UTF8.GetString(index.Serialize()));
        Assert.False(PackIndex.Parse(index.Serialize(), "t").Packs[0].Ref.HasStored);

        var withDigest = index with { Packs = [index.Packs[0] with { StoredDigest = new string('c', 64) }] };
        var back = PackIndex.Parse(withDigest.Serialize(), "t").Packs[0];
        Assert.Equal(ChunkId.Parse(new string('c', 64)), back.Ref.Stored);
        Assert.Equal(ChunkId.Parse(new string('b', 64)), back.Ref.Id);

        foreach (var bad in new[] { "ABC", new string('0', 64), "../../x" })
        {
            var json = index with { Packs = [index.Packs[0] with { StoredDigest = bad }] };
            Assert.Contains("bad pack", Assert.Throws<ArchiveFormatException>(() => PackIndex.Parse(json.Serialize(), "t")).Message);
        }
    }

    [Theory]
    [InlineData(new long[] { 0, 4096, 1, 0 })]         // no pack 1
    [InlineData(new long[] { 0, 4096, 0, 16000 })]     // past the pack's end
    [InlineData(new long[] { 1048000, 4096, 0, 0 })]   // past the image's end
    [InlineData(new long[] { 0, 0, 0, 0 })]            // empty
    public void PackIndex_badRegion_isRefused(long[] region) =>
        Assert.Contains("bad region", Assert.Throws<ArchiveFormatException>(() => PackIndex.Parse(Index(region).Serialize(), "t")).Message);

    [Fact]
    public void PackIndex_overlappingRegions_areRefused() =>
        Assert.Contains("overlapping", Assert.Throws<ArchiveFormatException>(() =>
            PackIndex.Parse(Index([0, 8192, 0, 0], [4096, 4096, 0, 8192]).Serialize(), "t")).Message);

    [Fact]
    public void Refs_profileAndPacks_roundTrip_andAreOmittedWhenUnset()
    {
        var refs = new ImageRefs {
            Image = "os",
            Latest = 1,
            Versions = [new VersionEntry { Version = 1, ManifestDigest = Digest, ChunkSize = 65536, Profile = Digest, Packs = Digest }, new VersionEntry { Version = 2, ManifestDigest = Digest, ChunkSize = 65536 }],
        };
        var back = ImageRefs.Parse(refs.Serialize(), "t");
        Assert.Equal(Digest, back.Versions[0].Profile);
        Assert.Equal(Digest, back.Versions[0].Packs);
        Assert.Null(back.Versions[1].Profile);
        // Archives written before profiles existed look exactly as they did.
        Assert.DoesNotContain("profile", Encoding.UTF8.GetString(new ImageRefs { Image = "os", Versions = [refs.Versions[1]] }.Serialize()));
    }

    [Theory]
    [InlineData("../../../etc/passwd")]
    [InlineData("ABCDEF")]
    public void Refs_profileThatIsNotADigest_isRefused(string bad)
    {
        var refs = new ImageRefs { Image = "os", Versions = [new VersionEntry { Version = 1, ManifestDigest = Digest, ChunkSize = 65536, Profile = bad }] };
        Assert.Throws<ArchiveFormatException>(() => ImageRefs.Parse(refs.Serialize(), "t"));
    }
}
