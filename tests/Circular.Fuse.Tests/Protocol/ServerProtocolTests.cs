using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Circular.Fuse.Native;
using Circular.Fuse.Protocol;
using Circular.Fuse.Server;

namespace Circular.Fuse.Tests.Protocol;

public sealed class ServerProtocolTests
{
    private const uint OfferedFlags = 0x73fffffb; // what the kernel on this machine offered (reference §2.4)

    [Fact]
    public async Task Init_replies_min_minor_and_only_offered_flags()
    {
        using var kernel = new FakeKernel();
        var reply = kernel.Call(FuseOpcode.Init, 0, FakeKernel.Bytes(new FuseInitIn { Major = 7, Minor = 45, MaxReadahead = 131072, Flags = OfferedFlags }));

        var init = reply.As<FuseInitOut>();
        Assert.Equal(7u, init.Major);
        Assert.Equal(38u, init.Minor);
        Assert.Equal(131072u, init.MaxReadahead);
        uint expected = (FuseConstants.AsyncRead | FuseConstants.BigWrites | FuseConstants.MaxPagesFlag | FuseConstants.ParallelDirops | FuseConstants.InitExt) & OfferedFlags;
        Assert.Equal(expected, init.Flags);
        Assert.Equal(1u << 20, init.MaxWrite);
        Assert.Equal((ushort)256, init.MaxPages);
        Assert.Equal(1u, init.TimeGran);
        // The reply is written before Initialized completes, so give the server thread a moment.
        await kernel.Server.Initialized.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Init_from_a_kernel_older_than_7_23_gets_the_24_byte_reply()
    {
        using var kernel = new FakeKernel();
        var reply = kernel.Call(FuseOpcode.Init, 0, FakeKernel.Bytes(new FuseInitIn { Major = 7, Minor = 22, MaxReadahead = 4096, Flags = FuseConstants.AsyncRead }));

        Assert.Equal(0, reply.Error);
        Assert.Equal(24, reply.Payload.Length);
        var init = MemoryMarshal.Read<FuseInitOut>([.. reply.Payload, .. new byte[40]]);
        Assert.Equal(22u, init.Minor);
        Assert.Equal(FuseConstants.AsyncRead, init.Flags); // nothing the kernel did not offer
    }

    [Fact]
    public async Task Init_from_an_ancient_kernel_is_refused()
    {
        using var kernel = new FakeKernel();
        var reply = kernel.Call(FuseOpcode.Init, 0, FakeKernel.Bytes(new FuseInitIn { Major = 7, Minor = 8 }));

        Assert.Equal(71, reply.Error); // EPROTO
        // The reply is written before Initialized completes: wait for it rather than race it (flaky under load).
        await Assert.ThrowsAnyAsync<Exception>(() => kernel.Server.Initialized.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(kernel.Server.Initialized.IsFaulted);
    }

    [Theory]
    [InlineData(5u)]   // READLINK
    [InlineData(22u)]  // GETXATTR
    [InlineData(35u)]  // CREATE
    [InlineData(44u)]  // READDIRPLUS
    [InlineData(9999u)]
    public void Unhandled_opcodes_get_enosys(uint opcode)
    {
        using var kernel = new FakeKernel();
        kernel.SendRaw(opcode, 1, new byte[16]);

        Assert.Equal(Errno.ENOSYS, kernel.Receive(TimeSpan.FromSeconds(10))!.Error);
    }

    [Fact]
    public void Forget_batch_forget_interrupt_and_runt_requests_get_no_reply()
    {
        using var kernel = new FakeKernel();
        kernel.Send(FuseOpcode.Forget, 5, new byte[8]);
        kernel.Send(FuseOpcode.BatchForget, 0, new byte[8]);
        kernel.Send(FuseOpcode.Interrupt, 0, new byte[8]);
        kernel.SendBytes(new byte[12]); // shorter than a header

        // The next reply must belong to the next request that wants one.
        var reply = kernel.Call(FuseOpcode.GetAttr, 1, new byte[16]);
        Assert.Equal(FuseConstants.SIfDir | 0x16Du, reply.As<FuseAttrOut>().Attr.Mode);
        Assert.Null(kernel.Receive(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public void Lookup_open_read_release_round_trip()
    {
        using var kernel = new FakeKernel();
        var bytes = kernel.Catalog.Bytes(1);

        var dir = kernel.Call(FuseOpcode.Lookup, 1, FakeKernel.Name("os")).As<FuseEntryOut>();
        var file = kernel.Call(FuseOpcode.Lookup, dir.NodeId, FakeKernel.Name("1.img")).As<FuseEntryOut>();
        Assert.Equal((ulong)bytes.Length, file.Attr.Size);
        Assert.Equal(FuseConstants.SIfReg | 0x124u, file.Attr.Mode);
        Assert.Equal(Errno.ENOENT, kernel.Call(FuseOpcode.Lookup, dir.NodeId, FakeKernel.Name("7.img")).Error);
        Assert.Equal(Errno.ENOTDIR, kernel.Call(FuseOpcode.Lookup, file.NodeId, FakeKernel.Name("x")).Error);

        var open = kernel.Call(FuseOpcode.Open, file.NodeId, FakeKernel.Bytes(new FuseOpenIn { Flags = 0 })).As<FuseOpenOut>();
        Assert.Equal(FuseConstants.FopenKeepCache, open.OpenFlags);

        var tail = kernel.Call(FuseOpcode.Read, file.NodeId, FakeKernel.Bytes(new FuseIoIn { Fh = open.Fh, Offset = (ulong)bytes.Length - 10, Size = 4096 }));
        Assert.Equal(bytes[^10..], tail.Payload);
        var past = kernel.Call(FuseOpcode.Read, file.NodeId, FakeKernel.Bytes(new FuseIoIn { Fh = open.Fh, Offset = (ulong)bytes.Length + 1, Size = 4096 }));
        Assert.Equal(0, past.Error);
        Assert.Empty(past.Payload);
        Assert.Equal(Errno.EBADF, kernel.Call(FuseOpcode.Read, file.NodeId, FakeKernel.Bytes(new FuseIoIn { Fh = 999, Size = 1 })).Error);

        Assert.Equal(1, kernel.Catalog.OpenImages);
        Assert.Equal(0, kernel.Call(FuseOpcode.Release, file.NodeId, FakeKernel.Bytes(new FuseReleaseIn { Fh = open.Fh })).Error);
        Assert.Equal(0, kernel.Catalog.OpenImages);
    }

    [Fact]
    public void Open_for_writing_on_a_read_only_mount_is_erofs_and_opens_nothing()
    {
        using var kernel = new FakeKernel(writable: false);
        var dir = kernel.Call(FuseOpcode.Lookup, 1, FakeKernel.Name("os")).As<FuseEntryOut>();
        var file = kernel.Call(FuseOpcode.Lookup, dir.NodeId, FakeKernel.Name("2.img")).As<FuseEntryOut>();

        Assert.Equal(Errno.EROFS, kernel.Call(FuseOpcode.Open, file.NodeId, FakeKernel.Bytes(new FuseOpenIn { Flags = 2 /* O_RDWR */ })).Error);
        Assert.Equal(0, kernel.Catalog.Opens);
        Assert.Equal(Errno.EISDIR, kernel.Call(FuseOpcode.Open, dir.NodeId, FakeKernel.Bytes(new FuseOpenIn())).Error);
    }

    [Fact]
    public void SetAttr_accepts_times_and_same_size_but_refuses_resize_and_chmod()
    {
        using var kernel = new FakeKernel(writable: true);
        var dir = kernel.Call(FuseOpcode.Lookup, 1, FakeKernel.Name("os")).As<FuseEntryOut>();
        var file = kernel.Call(FuseOpcode.Lookup, dir.NodeId, FakeKernel.Name("2.img")).As<FuseEntryOut>();
        ulong size = file.Attr.Size;

        FakeKernel.Reply SetAttr(FuseSetAttrIn request) => kernel.Call(FuseOpcode.SetAttr, file.NodeId, FakeKernel.Bytes(request));
        Assert.Equal(size, SetAttr(new FuseSetAttrIn { Valid = 16 | 32, Atime = 1, Mtime = 2 }).As<FuseAttrOut>().Attr.Size);
        Assert.Equal(0, SetAttr(new FuseSetAttrIn { Valid = FuseConstants.FattrSize, Size = size }).Error);
        Assert.Equal(Errno.EPERM, SetAttr(new FuseSetAttrIn { Valid = FuseConstants.FattrSize, Size = 0 }).Error);
        Assert.Equal(Errno.EPERM, SetAttr(new FuseSetAttrIn { Valid = FuseConstants.FattrSize, Size = size + 1 }).Error);
        Assert.Equal(Errno.EPERM, SetAttr(new FuseSetAttrIn { Valid = FuseConstants.FattrMode, Mode = 0x1FF }).Error);
    }

    [Fact]
    public void Write_past_the_end_is_efbig_and_a_straddling_write_is_short()
    {
        using var kernel = new FakeKernel(writable: true);
        var bytes = kernel.Catalog.Bytes(2);
        var dir = kernel.Call(FuseOpcode.Lookup, 1, FakeKernel.Name("os")).As<FuseEntryOut>();
        var file = kernel.Call(FuseOpcode.Lookup, dir.NodeId, FakeKernel.Name("2.img")).As<FuseEntryOut>();
        var open = kernel.Call(FuseOpcode.Open, file.NodeId, FakeKernel.Bytes(new FuseOpenIn { Flags = 2 })).As<FuseOpenOut>();
        Assert.Equal(0u, open.OpenFlags); // writable content may change: no KEEP_CACHE

        FakeKernel.Reply Write(ulong offset, byte[] data) => kernel.Call(FuseOpcode.Write, file.NodeId,
            [.. FakeKernel.Bytes(new FuseIoIn { Fh = open.Fh, Offset = offset, Size = (uint)data.Length }), .. data]);
        Assert.Equal(Errno.EFBIG, Write((ulong)bytes.Length, new byte[8]).Error);
        Assert.Equal(4u, Write((ulong)bytes.Length - 4, [1, 2, 3, 4, 5, 6, 7, 8]).As<FuseWriteOut>().Size);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, bytes[^4..]);
        Assert.Equal(0, kernel.Call(FuseOpcode.Fsync, file.NodeId, FakeKernel.Bytes(new FuseFhIn { Fh = open.Fh })).Error);
    }

    [Fact]
    public void ReadDir_pages_through_a_small_buffer_using_the_entry_offsets()
    {
        using var kernel = new FakeKernel();
        var dir = kernel.Call(FuseOpcode.Lookup, 1, FakeKernel.Name("os")).As<FuseEntryOut>();
        var open = kernel.Call(FuseOpcode.OpenDir, dir.NodeId, FakeKernel.Bytes(new FuseOpenIn())).As<FuseOpenOut>();

        var names = new List<string>();
        ulong offset = 0;
        for (int guard = 0; guard < 20; guard++)
        {
            // 72 bytes hold at most two short entries, so this takes several calls.
            var page = kernel.Call(FuseOpcode.ReadDir, dir.NodeId, FakeKernel.Bytes(new FuseIoIn { Fh = open.Fh, Offset = offset, Size = 72 })).Payload;
            if (page.Length == 0) break;
            for (int at = 0; at < page.Length;)
            {
                var dirent = MemoryMarshal.Read<FuseDirent>(page.AsSpan(at));
                names.Add(Encoding.UTF8.GetString(page, at + Unsafe.SizeOf<FuseDirent>(), (int)dirent.NameLen));
                offset = dirent.Off;
                at += (Unsafe.SizeOf<FuseDirent>() + (int)dirent.NameLen + 7) & ~7;
            }
        }
        Assert.Equal([".", "..", "1.img", "2.img", "latest.img", "stable.img"], names);
        Assert.Equal(0, kernel.Call(FuseOpcode.ReleaseDir, dir.NodeId, FakeKernel.Bytes(new FuseReleaseIn { Fh = open.Fh })).Error);
    }

    [Theory]
    [InlineData(6UL)]
    [InlineData(1UL << 40)]
    [InlineData(ulong.MaxValue)] // read as a negative index before (found by the fuse fuzz target)
    public void ReadDir_at_or_past_the_end_of_the_listing_is_empty_not_an_error(ulong offset)
    {
        using var kernel = new FakeKernel();
        var dir = kernel.Call(FuseOpcode.Lookup, 1, FakeKernel.Name("os")).As<FuseEntryOut>();
        var open = kernel.Call(FuseOpcode.OpenDir, dir.NodeId, FakeKernel.Bytes(new FuseOpenIn())).As<FuseOpenOut>();
        var page = kernel.Call(FuseOpcode.ReadDir, dir.NodeId, FakeKernel.Bytes(new FuseIoIn { Fh = open.Fh, Offset = offset, Size = 4096 }));
        Assert.Equal(0, page.Error);
        Assert.Empty(page.Payload);
        Assert.DoesNotContain("failed", kernel.Log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Closing_the_device_releases_images_still_open()
    {
        var kernel = new FakeKernel();
        var dir = kernel.Call(FuseOpcode.Lookup, 1, FakeKernel.Name("os")).As<FuseEntryOut>();
        var file = kernel.Call(FuseOpcode.Lookup, dir.NodeId, FakeKernel.Name("latest.img")).As<FuseEntryOut>();
        kernel.Call(FuseOpcode.Open, file.NodeId, FakeKernel.Bytes(new FuseOpenIn())).As<FuseOpenOut>();
        Assert.Equal(1, kernel.Catalog.OpenImages);

        kernel.Dispose();

        Assert.Equal(ServerExit.Unmounted, await kernel.Server.Exited);
        Assert.Equal(0, kernel.Catalog.OpenImages);
    }
}
