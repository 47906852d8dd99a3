using System.IO.Hashing;
using Circular.Core.HotData;

namespace Circular.Imaging.HotData;

/// <summary>
/// The pages held in an earlier version's packs, found by content: when `optimize` packs a rebuilt version, a page
/// that is already in one of those packs is mapped there instead of being copied into a new pack. A client that
/// booted the earlier version holds those packs, so it downloads only the new pack: the pages that changed, not
/// the whole chunks around them. Packs are content-addressed and shared by every version, so the new index may name
/// them as its own.
/// </summary>
public sealed class BasePages
{
    private const int Page = BootProfile.PageSize;
    private readonly Dictionary<ulong, List<(int Pack, int Offset)>> _byHash = [];
    private readonly List<(PackInfo Info, byte[] Content)> _packs = [];

    public static BasePages None { get; } = new();

    public int Count => _byHash.Count;

    /// <summary>True for a pack these pages came from.</summary>
    public bool Holds(string packId) => _packs.Exists(p => p.Info.Id == packId);

    /// <summary>Adds every whole page of a pack (<paramref name="content"/>, decoded and verified by the caller).</summary>
    public void AddPack(PackInfo info, byte[] content)
    {
        int number = _packs.Count;
        _packs.Add((info, content));
        for (int offset = 0; offset + Page <= content.Length; offset += Page)
        {
            ulong h = XxHash3.HashToUInt64(content.AsSpan(offset, Page));
            if (!_byHash.TryGetValue(h, out var list)) _byHash[h] = list = [];
            list.Add((number, offset));
        }
    }

    /// <summary>A pack holding exactly these bytes (a whole page), compared byte for byte, not by hash alone.</summary>
    public bool TryFind(ReadOnlySpan<byte> page, out PackInfo pack, out int offset)
    {
        if (page.Length == Page && _byHash.TryGetValue(XxHash3.HashToUInt64(page), out var list))
            foreach (var (number, at) in list)
                if (_packs[number].Content.AsSpan(at, Page).SequenceEqual(page))
                {
                    (pack, offset) = (_packs[number].Info, at);
                    return true;
                }
        (pack, offset) = (null!, 0);
        return false;
    }
}
