using System.Text;
using Circular.Core.Errors;
using Circular.Core.Refs;

namespace Circular.Core.Tests;

public class ImageRefsTests
{
    [Fact]
    public void Parse_ofSerialize_roundTrips()
    {
        var refs = new ImageRefs {
            Image = "os",
            Serial = 4,
            Latest = 2,
            Tags = new(StringComparer.Ordinal) { ["stable"] = 1 },
            Versions = [new VersionEntry { Version = 1, ManifestDigest = new string('a', 64), ChunkSize = 65536 }, new VersionEntry { Version = 2, ManifestDigest = new string('c', 64), ChunkSize = 65536, AddedChunks = 5 }],
        };
        var back = ImageRefs.Parse(refs.Serialize(), "t");
        Assert.Equal("os", back.Image);
        Assert.Equal(2, back.Latest);
        Assert.Equal(1, back.Tags["stable"]);
        Assert.Equal(5, back.Find(2)!.AddedChunks);
        Assert.Equal(3, back.NextVersion);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("[1,2]")]
    [InlineData("{\"format\":\"circular-refs\",\"formatVersion\":1,\"image\":\"os\",\"latest\":\"x\"}")]
    public void Parse_malformedJson_throwsArchiveFormat(string json)
    {
        var e = Assert.Throws<ArchiveFormatException>(() => ImageRefs.Parse(Encoding.UTF8.GetBytes(json), "of image 'os'"));
        Assert.Contains("of image 'os'", e.Message);
    }

    [Fact]
    public void Parse_otherFormatName_throwsArchiveFormat()
    {
        var e = Assert.Throws<ArchiveFormatException>(() => ImageRefs.Parse("{\"format\":\"x\",\"image\":\"os\"}"u8, "t"));
        Assert.Contains("not a Circular refs file", e.Message);
    }

    [Fact]
    public void Parse_unknownFormatVersion_throwsArchiveFormat()
    {
        var e = Assert.Throws<ArchiveFormatException>(() => ImageRefs.Parse("{\"format\":\"circular-refs\",\"formatVersion\":2,\"image\":\"os\"}"u8, "t"));
        Assert.Contains("format version 2", e.Message);
    }

    [Fact]
    public void Parse_missingRequiredImage_throwsArchiveFormat()
    {
        Assert.Throws<ArchiveFormatException>(() => ImageRefs.Parse("{\"format\":\"circular-refs\",\"formatVersion\":1}"u8, "t"));
    }

    [Fact]
    public void NextVersion_afterGaps_isOneMoreThanHighest()
    {
        var refs = new ImageRefs { Image = "os", Versions = [new VersionEntry { Version = 7, ManifestDigest = "" }] };
        Assert.Equal(8, refs.NextVersion);
        Assert.Equal(1, new ImageRefs { Image = "os" }.NextVersion);
    }
}
