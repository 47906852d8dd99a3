using System.Buffers.Binary;
using Circular.Imaging.Images;

namespace Circular.Nbd;

/// <summary>Turns an image's extent list into base:allocation descriptors for a BLOCK_STATUS chunk.</summary>
internal static class BlockStatusEncoder
{
    /// <summary>
    /// Descriptors per reply. The protocol allows 2^20; clients walk on from where the reply stops, so a
    /// smaller cap only bounds the buffer we rent for one fragmented request.
    /// </summary>
    public const int MaxDescriptorsPerReply = 16 * 1024;

    /// <summary>A descriptor length is u32; longer runs are cut at a 4 KiB-aligned limit and the client asks again.</summary>
    public const uint MaxDescriptorLength = 0xFFFF_F000;

    /// <summary>Merging only ever reduces the count, so one descriptor per extent (at least one) is enough room.</summary>
    public static int MaxDescriptors(int extentCount) => Math.Clamp(extentCount, 1, MaxDescriptorsPerReply);

    /// <summary>
    /// Writes descriptors (u32 length, u32 flags) for [offset, offset+length) into <paramref name="destination"/>
    /// and returns how many. Adjacent extents of the same kind are merged. Without REQ_ONE the last descriptor
    /// may run past the requested range (the protocol allows it) but never past the export; with REQ_ONE there is
    /// exactly one, no longer than requested. Zero extents are reported as HOLE|ZERO, data as 0.
    /// </summary>
    public static int Encode(IReadOnlyList<Extent> extents, long offset, long length, long size, bool reqOne, Span<byte> destination)
    {
        int capacity = destination.Length / 8;
        long end = offset + length;
        long position = offset;
        int count = 0;
        long runLength = 0;
        NbdAllocationFlags runFlags = NbdAllocationFlags.None;

        for (int i = 0; i < extents.Count; i++)
        {
            Extent extent = extents[i];
            long extentEnd = Math.Min(extent.Offset + extent.Length, size);
            // The contract says extents are consecutive from offset; skip any overlap, stop at a gap.
            if (extentEnd <= position)
                continue;
            if (extent.Offset > position)
                break;
            if (reqOne)
                extentEnd = Math.Min(extentEnd, end);

            NbdAllocationFlags flags = extent.IsZero ? NbdAllocationFlags.Hole | NbdAllocationFlags.Zero : NbdAllocationFlags.None;
            if (runLength > 0 && flags != runFlags)
            {
                if (reqOne)
                    break;
                Put(destination, count++, runLength, runFlags);
                runLength = 0;
                if (count == capacity)
                    return count;
            }
            runFlags = flags;
            runLength += extentEnd - position;
            position = extentEnd;
            if (position >= end || runLength >= MaxDescriptorLength)
                break;
        }

        if (runLength == 0)
        {
            // The image told us nothing usable: "data" (0) is always a truthful answer.
            runLength = Math.Min(length, size - offset);
            runFlags = NbdAllocationFlags.None;
        }
        Put(destination, count++, runLength, runFlags);
        return count;
    }

    private static void Put(Span<byte> destination, int index, long length, NbdAllocationFlags flags)
    {
        Span<byte> slot = destination.Slice(index * 8, 8);
        BinaryPrimitives.WriteUInt32BigEndian(slot, (uint)Math.Min(length, MaxDescriptorLength));
        BinaryPrimitives.WriteUInt32BigEndian(slot[4..], (uint)flags);
    }
}
