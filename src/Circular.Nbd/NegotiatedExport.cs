using Circular.Imaging.Images;

namespace Circular.Nbd;

/// <summary>What the handshake agreed on; the transmission phase runs with it and disposes the image.</summary>
internal sealed class NegotiatedExport(string name, IBlockImage image, NbdTransmissionFlags flags, bool structuredReplies, bool baseAllocation)
{
    /// <summary>Our id for the base:allocation meta context (the only one we offer).</summary>
    public const uint BaseAllocationId = 1;

    public const string BaseAllocation = "base:allocation";

    public string Name { get; } = name;
    public IBlockImage Image { get; } = image;
    public NbdTransmissionFlags Flags { get; } = flags;
    public bool StructuredReplies { get; } = structuredReplies;

    /// <summary>The client selected base:allocation, so BLOCK_STATUS is allowed.</summary>
    public bool BaseAllocationSelected { get; } = baseAllocation;

    public static NbdTransmissionFlags FlagsFor(IBlockImage image, bool structuredReplies)
    {
        NbdTransmissionFlags flags = NbdTransmissionFlags.HasFlags | NbdTransmissionFlags.SendFlush | NbdTransmissionFlags.SendCache;
        if (image.IsWritable)
        {
            flags |= NbdTransmissionFlags.SendFua | NbdTransmissionFlags.SendTrim | NbdTransmissionFlags.SendWriteZeroes;
        }
        else
        {
            // Nothing changes under a read-only export, so several connections see the same bytes (nbdcopy then
            // opens up to 4 connections).
            flags |= NbdTransmissionFlags.ReadOnly | NbdTransmissionFlags.CanMultiConn;
        }
        if (structuredReplies)
            flags |= NbdTransmissionFlags.SendDf;
        return flags;
    }
}
