using System.Buffers.Binary;
using System.Text;
using Circular.Core.Errors;

namespace Circular.Boot.Seed;

/// <summary>One GPT partition: its type, its own id, its first and last sector (inclusive) and its name.</summary>
public sealed record Partition(Guid Type, Guid Id, long FirstSector, long LastSector, string Name)
{
    public long Offset => FirstSector * PartitionTable.SectorSize;
    public long Length => (LastSector - FirstSector + 1) * PartitionTable.SectorSize;
}

/// <summary>
/// The GUID partition table of a seed disk (UEFI specification, chapter 5): a protective MBR (whose first 440 bytes
/// hold the BIOS boot code), the primary header and 128 entries at the start, their backup at the end. Written here
/// rather than by a partitioning tool, so building a disk needs no root, no loop device and no device guessing.
/// </summary>
public static class PartitionTable
{
    public const int SectorSize = 512;
    private const int EntryCount = 128, EntrySize = 128, EntrySectors = EntryCount * EntrySize / SectorSize;

    public static readonly Guid BiosBoot = new("21686148-6449-6E6F-744E-656564454649");
    public static readonly Guid EfiSystem = new("C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
    public static readonly Guid LinuxData = new("0FC63DAF-8483-4772-8E79-3D69D8477DE4");

    /// <summary>The first and last sector partitions may use on a disk of <paramref name="sectors"/> sectors.</summary>
    public static (long First, long Last) Usable(long sectors) => (2 + EntrySectors, sectors - 2 - EntrySectors);

    /// <summary>Writes the protective MBR (with <paramref name="bootCode"/>, at most 440 bytes) and both GPT copies.</summary>
    public static void Write(FileStream disk, long sectors, IReadOnlyList<Partition> partitions, ReadOnlySpan<byte> bootCode, Guid diskId)
    {
        if (bootCode.Length > 440) throw new ArgumentException("MBR boot code is at most 440 bytes", nameof(bootCode));
        var (first, last) = Usable(sectors);
        var entries = new byte[EntryCount * EntrySize];
        for (int i = 0; i < partitions.Count; i++)
        {
            var p = partitions[i];
            if (p.FirstSector < first || p.LastSector > last || p.LastSector < p.FirstSector)
                throw new ArgumentException($"partition {i + 1} ({p.FirstSector}-{p.LastSector}) is outside {first}-{last}");
            var e = entries.AsSpan(i * EntrySize, EntrySize);
            p.Type.TryWriteBytes(e[..16]);
            p.Id.TryWriteBytes(e[16..32]);
            BinaryPrimitives.WriteInt64LittleEndian(e[32..], p.FirstSector);
            BinaryPrimitives.WriteInt64LittleEndian(e[40..], p.LastSector);
            Encoding.Unicode.GetBytes(p.Name.Length > 36 ? p.Name[..36] : p.Name).CopyTo(e[56..]);
        }
        uint entriesCrc = Crc32.Compute(entries);

        var mbr = new byte[SectorSize];
        bootCode.CopyTo(mbr);
        // One partition of type 0xEE covering the disk (or as much as 32 bits of sectors can say).
        var pe = mbr.AsSpan(446, 16);
        pe[1] = 0; pe[2] = 2; pe[3] = 0; pe[4] = 0xEE; pe[5] = 0xFF; pe[6] = 0xFF; pe[7] = 0xFF;
        BinaryPrimitives.WriteUInt32LittleEndian(pe[8..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(pe[12..], (uint)Math.Min(sectors - 1, uint.MaxValue));
        mbr[510] = 0x55; mbr[511] = 0xAA;

        WriteAt(disk, 0, mbr);
        WriteAt(disk, 1, Header(1, sectors - 1, 2, sectors, diskId, entriesCrc));
        WriteAt(disk, 2, entries);
        WriteAt(disk, sectors - 1 - EntrySectors, entries);
        WriteAt(disk, sectors - 1, Header(sectors - 1, 1, sectors - 1 - EntrySectors, sectors, diskId, entriesCrc));
    }

    private static byte[] Header(long self, long backup, long entriesAt, long sectors, Guid diskId, uint entriesCrc)
    {
        var (first, last) = Usable(sectors);
        var h = new byte[SectorSize];
        "EFI PART"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(8), 0x00010000); // revision 1.0
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(12), 92);
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(24), self);
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(32), backup);
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(40), first);
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(48), last);
        diskId.TryWriteBytes(h.AsSpan(56, 16));
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(72), entriesAt);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(80), EntryCount);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(84), EntrySize);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(88), entriesCrc);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), Crc32.Compute(h.AsSpan(0, 92)));
        return h;
    }

    /// <summary>The partitions of a GPT disk, in table order; an error naming what is wrong when it has no valid GPT.</summary>
    public static IReadOnlyList<Partition> Read(FileStream disk)
    {
        var h = new byte[SectorSize];
        ReadAt(disk, 1, h);
        if (!h.AsSpan(0, 8).SequenceEqual("EFI PART"u8)) throw new ArchiveFormatException($"{disk.Name} has no GUID partition table: not a seed disk");
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(16));
        var check = h.AsSpan(0, 92).ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(check.AsSpan(16), 0);
        if (Crc32.Compute(check) != crc) throw new ArchiveFormatException($"{disk.Name}: the GPT header's checksum is wrong (a damaged disk)");
        long entriesAt = BinaryPrimitives.ReadInt64LittleEndian(h.AsSpan(72));
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(80)), size = BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(84));
        if (count > 1024 || size < 128 || size > 1024) throw new ArchiveFormatException($"{disk.Name}: a GPT with {count} entries of {size} bytes is not one this program wrote");
        var entries = new byte[(count * size + SectorSize - 1) / SectorSize * SectorSize];
        ReadAt(disk, entriesAt, entries);
        if (Crc32.Compute(entries.AsSpan(0, (int)(count * size))) != BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(88)))
            throw new ArchiveFormatException($"{disk.Name}: the GPT entries' checksum is wrong (a damaged disk)");
        var list = new List<Partition>();
        for (int i = 0; i < count; i++)
        {
            var e = entries.AsSpan(i * (int)size, (int)size);
            var type = new Guid(e[..16]);
            if (type == Guid.Empty) continue;
            string name = Encoding.Unicode.GetString(e.Slice(56, 72)).TrimEnd('\0');
            list.Add(new Partition(type, new Guid(e[16..32]), BinaryPrimitives.ReadInt64LittleEndian(e[32..]), BinaryPrimitives.ReadInt64LittleEndian(e[40..]), name));
        }
        return list;
    }

    private static void WriteAt(FileStream disk, long sector, byte[] data)
    {
        disk.Position = sector * SectorSize;
        disk.Write(data);
    }

    private static void ReadAt(FileStream disk, long sector, byte[] data)
    {
        disk.Position = sector * SectorSize;
        disk.ReadExactly(data);
    }
}
