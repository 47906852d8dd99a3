using Circular.Fuse.Native;
using Circular.Fuse.Protocol;

namespace Circular.Fuse.Server;

// INIT: version and capability negotiation, the first request of every session.
internal sealed partial class FuseServer
{
    private const int EPROTO = 71;

    /// <summary>The minor version agreed on, so handlers can pick compat reply sizes.</summary>
    private uint _minor;

    private void Init(in FuseInHeader header, ReadOnlySpan<byte> body)
    {
        var init = ReadBody<FuseInitIn>(body);
        // Kernels speaking major 7 older than 7.12 need compat layouts we do not implement (go-fuse draws the same line).
        if (init.Major != FuseConstants.KernelMajor || init.Minor < 12)
        {
            _log.UnsupportedKernel(init.Major, init.Minor);
            _channel.ReplyError(header.Unique, EPROTO);
            _initialized.TrySetException(new FuseMountException($"kernel FUSE protocol {init.Major}.{init.Minor} is not supported (need 7.12 or newer)"));
            return;
        }

        _minor = Math.Min(FuseConstants.OurMinor, init.Minor);
        const uint wanted = FuseConstants.AsyncRead | FuseConstants.BigWrites | FuseConstants.MaxPagesFlag | FuseConstants.ParallelDirops;
        var reply = new FuseInitOut {
            Major = FuseConstants.KernelMajor,
            Minor = _minor,
            MaxReadahead = init.MaxReadahead,
            // Only flags the kernel offered; INIT_EXT is echoed because the kernel expects it back when it set it.
            Flags = init.Flags & (wanted | FuseConstants.InitExt),
            MaxBackground = 16,
            CongestionThreshold = 12,
            MaxWrite = FuseConstants.MaxWrite,
            TimeGran = 1,
            MaxPages = FuseConstants.MaxPages,
        };
        int size = _minor < FuseConstants.MinorWithFullInitOut ? 24 : System.Runtime.CompilerServices.Unsafe.SizeOf<FuseInitOut>();
        _channel.Reply(header.Unique, reply, size);
        _log.Negotiated(init.Major, init.Minor, _minor, init.MaxReadahead);
        _initialized.TrySetResult();
    }
}
