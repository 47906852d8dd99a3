using System.Runtime.CompilerServices;
using Circular.Fuse.Protocol;

namespace Circular.Fuse.Tests.Protocol;

/// <summary>The wire structs against the sizes measured with gcc on linux/fuse.h 7.38 (reference §2.3).</summary>
public sealed class ProtocolStructSizeTests
{
    [Fact]
    public void Wire_structs_have_the_kernel_sizes()
    {
        Assert.Equal(40, Unsafe.SizeOf<FuseInHeader>());
        Assert.Equal(16, Unsafe.SizeOf<FuseOutHeader>());
        Assert.Equal(64, Unsafe.SizeOf<FuseInitIn>());
        Assert.Equal(64, Unsafe.SizeOf<FuseInitOut>());
        Assert.Equal(88, Unsafe.SizeOf<FuseAttr>());
        Assert.Equal(128, Unsafe.SizeOf<FuseEntryOut>());
        Assert.Equal(104, Unsafe.SizeOf<FuseAttrOut>());
        Assert.Equal(88, Unsafe.SizeOf<FuseSetAttrIn>());
        Assert.Equal(8, Unsafe.SizeOf<FuseOpenIn>());
        Assert.Equal(16, Unsafe.SizeOf<FuseOpenOut>());
        Assert.Equal(40, Unsafe.SizeOf<FuseIoIn>());
        Assert.Equal(8, Unsafe.SizeOf<FuseWriteOut>());
        Assert.Equal(24, Unsafe.SizeOf<FuseReleaseIn>());
        Assert.Equal(80, Unsafe.SizeOf<FuseStatFsOut>());
        Assert.Equal(24, Unsafe.SizeOf<FuseDirent>());
    }

    [Fact]
    public void Field_offsets_match_the_reference_table()
    {
        Assert.Equal(60, OffsetOf(new FuseAttr { Mode = uint.MaxValue }));
        Assert.Equal(80, OffsetOf(new FuseAttr { BlkSize = uint.MaxValue }));
        Assert.Equal(12, OffsetOf(new FuseInitOut { Flags = uint.MaxValue }));
        Assert.Equal(20, OffsetOf(new FuseInitOut { MaxWrite = uint.MaxValue }));
        Assert.Equal(28, OffsetOf(new FuseInitOut { MaxPages = ushort.MaxValue }));
        Assert.Equal(32, OffsetOf(new FuseInitOut { Flags2 = uint.MaxValue }));
        Assert.Equal(40, OffsetOf(new FuseEntryOut { Attr = new FuseAttr { Ino = ulong.MaxValue } }));
        Assert.Equal(16, OffsetOf(new FuseAttrOut { Attr = new FuseAttr { Ino = ulong.MaxValue } }));
        Assert.Equal(16, OffsetOf(new FuseIoIn { Size = uint.MaxValue }));
        Assert.Equal(16, OffsetOf(new FuseSetAttrIn { Size = ulong.MaxValue }));
        Assert.Equal(44, OffsetOf(new FuseStatFsOut { NameLen = uint.MaxValue }));
    }

    /// <summary>Where the only non-zero byte of a struct is: the offset of the one field that was set.</summary>
    private static int OffsetOf<T>(T value) where T : unmanaged
    {
        var bytes = new byte[Unsafe.SizeOf<T>()];
        Unsafe.WriteUnaligned(ref bytes[0], value);
        return Array.FindIndex(bytes, b => b != 0);
    }
}
