namespace Circular.Core.Chunks;

/// <summary>
/// A chunk as a manifest names it: its id (the SHA-256 of its uncompressed bytes, what deduplication keys on) and, in
/// format 2 manifests, <see cref="Stored"/>: the SHA-256 of the chunk file as the writer stored it. A reader that
/// receives exactly that file verifies it with one hash over its (smaller, compressed) bytes instead of hashing what
/// it decodes; docs/format.md ("Threat model") gives the argument. A plain id converts to a ref without one.
/// </summary>
public readonly record struct ChunkRef(ChunkId Id, ChunkId Stored)
{
    public static implicit operator ChunkRef(ChunkId id) => new(id, ChunkId.Zero);

    /// <summary>True when the stored file's digest is known (format 2 manifests).</summary>
    public bool HasStored => !Stored.IsZero;
}
