using Circular.Core.Chunks;

namespace Circular.Core.Errors;

/// <summary>A file of the archive is corrupt, truncated, or of a format version this program does not know.</summary>
public sealed class ArchiveFormatException : CircularException
{
    public ArchiveFormatException(string message) : base(message) { }
    public ArchiveFormatException(string message, Exception inner) : base(message, inner) { }

    public override ErrorKind Kind => ErrorKind.Corrupt;
}

/// <summary>
/// A copy of an object that does not match what the client already trusts (its digest in refs, its signature): the
/// copy is bad, not the archive; another copy, fetched past caches, may be good.
/// </summary>
public interface IBadCopy;

/// <summary>An object's bytes do not hash to the digest that names it (a manifest against its refs entry, a profile).</summary>
public sealed class DigestMismatchException(string message) : CircularException(message), IBadCopy
{
    public override ErrorKind Kind => ErrorKind.Corrupt;
}

/// <summary>A chunk's bytes do not hash to its id, or its file cannot be decoded.</summary>
public sealed class ChunkIntegrityException(ChunkId id, string source, string detail)
    : CircularException($"chunk {id.ToHex()} from {Where(id, source)} is corrupt: {detail}"), IBadCopy
{
    /// <summary>The store a copy came from, without the chunk's own path (which repeats its id).</summary>
    private static string Where(ChunkId id, string source)
    {
        string hex = id.ToHex();
        foreach (string dir in new[] { "/chunks/", "/packs/" })
            source = source.Replace($"{dir}{hex[..2]}/{hex}", "", StringComparison.Ordinal);
        return source;
    }

    public ChunkId Id { get; } = id;
    public string Origin { get; } = source;
    /// <summary>What is wrong with the copy, without the chunk id and source the message leads with.</summary>
    public string Detail { get; } = detail;
    public override ErrorKind Kind => ErrorKind.Corrupt;
}

/// <summary>A chunk a manifest names is in no reachable store: the archive is damaged (or incomplete, for a mirror).</summary>
public sealed class ChunkMissingException(ChunkId id, string detail)
    : CircularException($"chunk {id.ToHex()} is missing: {detail}")
{
    public ChunkId Id { get; } = id;
    public override ErrorKind Kind => ErrorKind.Corrupt;
}
