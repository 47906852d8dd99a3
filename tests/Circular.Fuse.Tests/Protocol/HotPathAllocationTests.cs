using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Circular.Fuse.Protocol;
using Circular.Fuse.Tests.Support;

namespace Circular.Fuse.Tests.Protocol;

[Collection(AloneCollection.Name)] // the allocation count is process-wide
public sealed class HotPathAllocationTests
{
    [Fact]
    public void Read_requests_do_not_allocate()
    {
        using var kernel = new FakeKernel();
        var dir = kernel.Call(FuseOpcode.Lookup, 1, FakeKernel.Name("os")).As<FuseEntryOut>();
        var file = kernel.Call(FuseOpcode.Lookup, dir.NodeId, FakeKernel.Name("2.img")).As<FuseEntryOut>();
        var open = kernel.Call(FuseOpcode.Open, file.NodeId, FakeKernel.Bytes(new FuseOpenIn())).As<FuseOpenOut>();

        int headerSize = Unsafe.SizeOf<FuseInHeader>();
        var request = new byte[headerSize + Unsafe.SizeOf<FuseIoIn>()];
        MemoryMarshal.Write(request, new FuseInHeader { Len = (uint)request.Length, Opcode = (uint)FuseOpcode.Read, Unique = 1_000_000, NodeId = file.NodeId });
        MemoryMarshal.Write(request.AsSpan(headerSize), new FuseIoIn { Fh = open.Fh, Offset = 12_345, Size = 65_536 });
        var reply = new byte[1 << 17];

        for (int i = 0; i < 200; i++) kernel.RoundTrip(request, reply); // warm up: JIT, tiering, pools
        long before = GC.GetTotalAllocatedBytes(precise: true);
        const int reads = 2000;
        int shortReplies = 0;
        for (int i = 0; i < reads; i++)
        {
            if (kernel.RoundTrip(request, reply) != 16 + 65_536) shortReplies++; // Assert.Equal itself allocates
        }
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(0, shortReplies);

        // Counted process-wide, so the test runner's own background noise is in there; a single object per
        // request (a Task, a boxed Memory, a closure) would already cost more than 50 bytes per read.
        Assert.True(allocated < reads * 50, $"{allocated} bytes allocated for {reads} reads");
        Assert.Equal(kernel.Catalog.Bytes(2).AsSpan(12_345, 65_536).ToArray(), reply.AsSpan(16, 65_536).ToArray());
    }
}
