using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Manifests;

namespace Circular.Core.Tests;

public class ObjectHandleTests
{
    private static readonly ChunkId Id = ChunkId.Compute([1, 2, 3]);
    private static readonly string Digest = new('d', 64);

    public static TheoryData<string> Handles() => new()
    {
        "config", "index", "keys", "key", "refs", "manifest", "profile", "packindex", "chunk", "pack", "refs-sig", "manifest-sig",
    };

    private static ObjectHandle Make(string what) => what switch {
        "config" => ObjectHandle.Config,
        "index" => ObjectHandle.ImageIndex,
        "keys" => ObjectHandle.KeyList,
        "key" => ObjectHandle.PublicKey("0123456789abcdef"),
        "refs" => ObjectHandle.Refs("os"),
        "manifest" => ObjectHandle.Manifest("os", 3),
        "profile" => ObjectHandle.Profile("os", Digest),
        "packindex" => ObjectHandle.PackIndex("os", Digest),
        "chunk" => ObjectHandle.Chunk(Id),
        "pack" => ObjectHandle.Pack(Id),
        "refs-sig" => ObjectHandle.Refs("os").Signature(),
        "manifest-sig" => ObjectHandle.Manifest("os", 3).Signature(),
        _ => throw new ArgumentException(what),
    };

    [Theory]
    [MemberData(nameof(Handles))]
    public void A_handles_path_names_the_same_kind_of_object(string what)
    {
        var h = Make(what);
        var back = ObjectHandle.FromPath(h.Path);
        Assert.NotNull(back);
        Assert.Equal(h.Kind, back.Value.Kind);
        Assert.Equal(h.Path, back.Value.Path);
        Assert.Equal(h.IsImmutable, back.Value.IsImmutable);
        Assert.Equal(h, ObjectHandle.FromPath("/" + h.Path));
    }

    [Fact]
    public void Content_addressed_objects_are_immutable_and_mutable_metadata_is_not()
    {
        Assert.True(ObjectHandle.Chunk(Id).IsImmutable);
        Assert.True(ObjectHandle.Manifest("os", 1).IsImmutable);
        Assert.True(ObjectHandle.Manifest("os", 1).Signature().IsImmutable);
        Assert.False(ObjectHandle.Refs("os").IsImmutable);
        Assert.False(ObjectHandle.Refs("os").Signature().IsImmutable);
        Assert.False(ObjectHandle.ImageIndex.IsImmutable);
    }

    [Theory]
    [InlineData("")]
    [InlineData("chunks")]
    [InlineData("chunks/ab")]
    [InlineData("chunks/AB/AB00000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("chunks/ac/ab00000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("images/os/versions/01")]
    [InlineData("images/os/versions/-1")]
    [InlineData("images/os/profiles/xyz")]
    [InlineData("images/../refs.json")]
    [InlineData("keys.json.sig")]
    [InlineData(".locks/chunks")]
    public void Paths_that_name_no_object_give_null(string path) => Assert.Null(ObjectHandle.FromPath(path));

    [Fact]
    public void Bounds_are_the_largest_valid_object_of_the_kind()
    {
        Assert.Equal(ChunkFile.MaxEncodedLength(ChunkFile.MaxChunkLength), ObjectHandle.Chunk(Id).MaxLength);
        Assert.True(ObjectHandle.Chunk(Id).MaxLength < 5 << 20);
        // A manifest read through its refs entry is bounded by that entry's block count.
        long small = ObjectHandle.Manifest("os", 1, blocks: 100).MaxLength;
        Assert.Equal(Manifest.MaxFileLength(100), small);
        Assert.True(small < ObjectHandle.Manifest("os", 1, blocks: 1000).MaxLength);
        Assert.True(ObjectHandle.Manifest("os", 1).MaxLength <= Array.MaxLength);
    }
}
