namespace Circular.Nbd;

/// <summary>
/// Magic numbers and fixed sizes of the NBD wire protocol (NetworkBlockDevice/nbd doc/proto.md).
/// All integers on the wire are big-endian.
/// </summary>
internal static class NbdMagic
{
    /// <summary>"NBDMAGIC": first 8 bytes of the server greeting.</summary>
    public const ulong Greeting = 0x4e42444d41474943;

    /// <summary>"IHAVEOPT": second word of the greeting and first word of every option.</summary>
    public const ulong Option = 0x49484156454F5054;

    /// <summary>Starts every option reply.</summary>
    public const ulong OptionReply = 0x0003e889045565a9;

    public const uint Request = 0x25609513;
    public const uint SimpleReply = 0x67446698;
    public const uint StructuredReply = 0x668e33ef;
}

internal static class NbdSizes
{
    /// <summary>magic u64, IHAVEOPT u64, handshake flags u16.</summary>
    public const int Greeting = 18;

    /// <summary>IHAVEOPT u64, option u32, length u32.</summary>
    public const int OptionHeader = 16;

    /// <summary>magic u64, option u32, reply type u32, length u32.</summary>
    public const int OptionReplyHeader = 20;

    /// <summary>magic u32, flags u16, type u16, cookie u64, offset u64, length u32.</summary>
    public const int Request = 28;

    /// <summary>magic u32, error u32, cookie u64.</summary>
    public const int SimpleReply = 16;

    /// <summary>magic u32, flags u16, type u16, cookie u64, length u32.</summary>
    public const int ChunkHeader = 20;

    /// <summary>Padding after the legacy EXPORT_NAME reply unless NO_ZEROES was negotiated.</summary>
    public const int ExportNamePadding = 124;

    /// <summary>Longest string the protocol allows (names, descriptions, messages).</summary>
    public const int MaxString = 4096;

    /// <summary>
    /// Longest option payload we accept. Real options are a name plus a few words; anything larger is
    /// hostile, so the connection is dropped before a byte of it is buffered.
    /// </summary>
    public const int MaxOptionLength = 64 * 1024;
}

/// <summary>Handshake flags the server sends in its greeting (u16).</summary>
[Flags]
internal enum NbdHandshakeFlags : ushort
{
    FixedNewstyle = 1 << 0,
    NoZeroes = 1 << 1,
}

/// <summary>Flags the client sends right after the greeting (u32).</summary>
[Flags]
internal enum NbdClientFlags : uint
{
    FixedNewstyle = 1 << 0,
    NoZeroes = 1 << 1,
    Known = FixedNewstyle | NoZeroes,
}

internal enum NbdOption : uint
{
    ExportName = 1,
    Abort = 2,
    List = 3,
    StartTls = 5,
    Info = 6,
    Go = 7,
    StructuredReply = 8,
    ListMetaContext = 9,
    SetMetaContext = 10,
}

/// <summary>Option reply types; errors have bit 31 set.</summary>
internal enum NbdOptionReply : uint
{
    Ack = 1,
    Server = 2,
    Info = 3,
    MetaContext = 4,
    ErrUnsupported = 0x8000_0000 + 1,
    ErrPolicy = 0x8000_0000 + 2,
    ErrInvalid = 0x8000_0000 + 3,
    ErrPlatform = 0x8000_0000 + 4,
    ErrTlsRequired = 0x8000_0000 + 5,
    ErrUnknown = 0x8000_0000 + 6,
    ErrShutdown = 0x8000_0000 + 7,
    ErrBlockSizeRequired = 0x8000_0000 + 8,
    ErrTooBig = 0x8000_0000 + 9,
}

/// <summary>Information items of NBD_REP_INFO (u16).</summary>
internal enum NbdInfo : ushort
{
    Export = 0,
    Name = 1,
    Description = 2,
    BlockSize = 3,
}

/// <summary>Per-export transmission flags (u16).</summary>
[Flags]
internal enum NbdTransmissionFlags : ushort
{
    HasFlags = 1 << 0,
    ReadOnly = 1 << 1,
    SendFlush = 1 << 2,
    SendFua = 1 << 3,
    Rotational = 1 << 4,
    SendTrim = 1 << 5,
    SendWriteZeroes = 1 << 6,
    SendDf = 1 << 7,
    CanMultiConn = 1 << 8,
    SendResize = 1 << 9,
    SendCache = 1 << 10,
    SendFastZero = 1 << 11,
}

internal enum NbdCommand : ushort
{
    Read = 0,
    Write = 1,
    Disconnect = 2,
    Flush = 3,
    Trim = 4,
    Cache = 5,
    WriteZeroes = 6,
    BlockStatus = 7,
}

[Flags]
internal enum NbdCommandFlags : ushort
{
    None = 0,
    Fua = 1 << 0,
    NoHole = 1 << 1,
    DontFragment = 1 << 2,
    ReqOne = 1 << 3,
    FastZero = 1 << 4,
}

internal enum NbdChunkType : ushort
{
    None = 0,
    OffsetData = 1,
    OffsetHole = 2,
    BlockStatus = 5,
    Error = 0x8000 + 1,
    ErrorOffset = 0x8000 + 2,
}

internal static class NbdChunkFlags
{
    /// <summary>Marks the last chunk of a structured reply.</summary>
    public const ushort Done = 1;
}

/// <summary>base:allocation extent flags.</summary>
[Flags]
internal enum NbdAllocationFlags : uint
{
    None = 0,
    Hole = 1 << 0,
    Zero = 1 << 1,
}

/// <summary>Error values on the wire: Linux errno numbers, fixed by the protocol whatever the host.</summary>
public enum NbdError : uint
{
    None = 0,
    Perm = 1,
    Io = 5,
    NoMem = 12,
    Inval = 22,
    NoSpc = 28,
    Overflow = 75,
    NotSup = 95,
    Shutdown = 108,
}
