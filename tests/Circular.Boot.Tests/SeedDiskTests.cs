using System.Net.Sockets;
using Circular.Boot.Guest;
using Circular.Boot.Seed;
using Xunit.Abstractions;

namespace Circular.Boot.Tests;

/// <summary>
/// Issue 13 (VMSeed): seed disks of every format boot in QEMU from the archive, keep what they fetched in their own
/// cache partition and boot again with no network; the guest's writes survive a reboot; the boot menu reaches an older
/// version; a filled disk boots without fetching.
/// </summary>
[Collection("qemu")]
public sealed class SeedDiskTests(InetBootFixture f, ITestOutputHelper output) : IDisposable
{
    private readonly Scratch _s = new();
    private static readonly TimeSpan Boot = TimeSpan.FromMinutes(4);

    public void Dispose() => _s.Dispose();

    /// <summary>Writes a seed disk of <paramref name="image"/> for a guest reaching the archive at http://10.0.2.100 (the prebuilt initramfs: quicker).</summary>
    private async Task<string> SeedAsync(string file, string image, params string[] more)
    {
        string[] menu = more.Contains("--menu-timeout") ? [] : ["--menu-timeout", "0"];
        var r = (await CircularCli.RunAsync(TimeSpan.FromMinutes(5), ["seed", f.Archive, image, "-o", file, "--url", "http://10.0.2.100", "--size", "2G",
            "--initramfs", f.Initramfs, .. menu, .. more])).Ok();
        Assert.Contains("wrote " + file, r.Out);
        return file;
    }

    private static string[] Disk(string file, string format) => ["-drive", $"file={file},if=virtio,format={format}"];

    /// <summary>Bytes the file holds on disk (du): what a seed disk costs before and after it grows.</summary>
    private static long Allocated(string file) => long.Parse(Tools.Run("du", "-k", file).Split('\t')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;

    /// <summary>The random seed archive in a raw seed disk's cache partition, read as GRUB reads it (no journal replay).</summary>
    private byte[] RandomSeedOf(string raw)
    {
        IReadOnlyList<Partition> parts;
        using (var disk = new FileStream(raw, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            parts = PartitionTable.Read(disk);
        string dump = _s["random-seed-" + Guid.NewGuid().ToString("N")];
        Tools.Run("debugfs", "-R", $"dump /{RandomSeed.CacheFile} {dump}", $"{raw}?offset={parts[2].Offset}");
        return File.ReadAllBytes(dump);
    }

    [Theory]
    [InlineData("raw", null)]
    [InlineData("qcow2", null)]
    [InlineData("vmdk", "monolithicSparse")]
    [InlineData("vmdk", "streamOptimized")]
    [InlineData("vdi", null)]
    [InlineData("vhdx", null)]
    [InlineData("vpc", null)]
    public async Task A_seed_disk_boots_with_the_network_then_without_it_from_its_own_cache(string format, string? subformat)
    {
        // The raw disk's guest logs debug lines too: they say whether the random seed was credited.
        string[] debug = format == "raw" ? ["--append", "CIRCULAR_DEBUG=1"] : [];
        string file = await SeedAsync(_s[$"seed-{subformat ?? format}.{format}"], "os",
            ["--format", format, .. subformat is null ? Array.Empty<string>() : ["--vmdk-subformat", subformat], .. debug]);
        byte[]? seed = format == "raw" ? RandomSeedOf(file) : null;
        if (seed is not null) Assert.Equal(RandomSeed.SpentArchive(), seed); // nothing a copy of the disk would know is credited
        string info = Tools.Run("qemu-img", "info", file);
        Assert.Contains($"file format: {format}", info);
        Assert.Contains("virtual size: 2 GiB", info);
        if (format is not ("raw" or "vpc")) Tools.Run("qemu-img", "check", file); // throws on a complaint
        long before = Allocated(file);
        if (subformat == "streamOptimized")
        {
            // An import format: ESXi (or ovftool) converts it to a disk it can write; QEMU appends compressed grains but
            // cannot rewrite one. The same conversion here is a writable qcow2 layer over it.
            string layer = _s["imported.qcow2"];
            Tools.Run("qemu-img", "create", "-q", "-f", "qcow2", "-b", file, "-F", "vmdk", layer);
            (file, format) = (layer, "qcow2");
        }

        // The raw disk's first boot goes through a proxy that sees its requests.
        await using var proxy = new TcpProxy(f.Port);
        string online = await QemuGuest.RunAsync(Boot, "256M", [.. Disk(file, format), .. QemuGuest.Network([format == "raw" ? proxy.Port : f.Port])]);
        Assert.True(GuestConsole.MarkerOf(online) == "v2", $"{format}: the first boot did not reach version 2's marker:\n{online}");
        long first = Allocated(file);
        if (format == "raw")
        {
            // The seed carries the version's manifest: the first boot asks only for mutable metadata before its blocks.
            var asked = proxy.Requests;
            Assert.Contains(asked, r => r.Contains("/images/os/refs.json", StringComparison.Ordinal));
            Assert.DoesNotContain(asked, r => r.Contains("/images/os/versions/", StringComparison.Ordinal));
        }
        if (seed is not null)
        {
            // The first boot credits nothing (its seed is spent) and writes the next boot's over it (same size, in place).
            Assert.DoesNotContain("random seed from the cache partition credited", online);
            byte[] next = RandomSeedOf(file);
            Assert.Equal(seed.Length, next.Length);
            Assert.NotEqual(seed, next);
            seed = next;
        }

        string offline = await QemuGuest.RunAsync(Boot, "256M", [.. Disk(file, format), "-nic", "none"]);
        Assert.True(GuestConsole.MarkerOf(offline) == "v2", $"{format}: the offline boot did not reach the marker:\n{offline}");
        Assert.Contains("booting from the cache", offline);
        long second = Allocated(file);
        if (seed is not null)
        {
            // GRUB loaded the seed the first boot wrote, the client credited it before its first random read, and the
            // boot replaced it: every seed is used once.
            Assert.Contains("random seed from the cache partition credited to the kernel", offline);
            Assert.NotEqual(seed, RandomSeedOf(file));
        }

        output.WriteLine($"{subformat ?? format}: {before >> 10} KiB before the first boot, {first >> 10} KiB after it, {second >> 10} KiB after the offline boot");
        Assert.True(before <= 32 << 20, $"{format}: {before} bytes before the first boot (goal: at most 32 MiB)");
        Assert.True(first > (subformat == "streamOptimized" ? 0 : before), $"{format}: the disk did not keep what the first boot fetched ({before} → {first} bytes)");
        // The offline boot rewrites a few metadata blocks (the journal, the boot record), nothing more: at most two of
        // the format's allocation units (vdi allocates whole MiB).
        Assert.True(second - first <= 2 << 20, $"{format}: the offline boot added {second - first} bytes");
    }

    [Fact]
    public async Task The_guests_writes_survive_a_reboot_under_bios_then_uefi()
    {
        string file = await SeedAsync(_s["notes.img"], "notes");
        string first = await QemuGuest.RunAsync(Boot, "256M", [.. Disk(file, "raw"), .. QemuGuest.Network([f.Port])]);
        Assert.True(GuestConsole.MarkerOf(first) == "n1", "BIOS boot of the seed disk did not reach the marker:\n" + first);
        Assert.Equal("none", GuestConsole.NoteOf(first));

        // The same disk under UEFI (GRUB's EFI build needs more than 256 MB: docs/inetboot.md), offline.
        string second = await QemuGuest.RunAsync(Boot, "384M", [.. QemuGuest.Uefi(_s.Dir), .. Disk(file, "raw"), "-nic", "none"]);
        Assert.True(GuestConsole.MarkerOf(second) == "n1", "UEFI boot of the seed disk did not reach the marker:\n" + second);
        Assert.StartsWith("left-at-", GuestConsole.NoteOf(second));

        var shown = (await CircularCli.RunAsync("seed", "--info", file)).Ok().Out;
        Assert.Contains("boots:    notes from http://10.0.2.100", shown);
        Assert.Contains("writable layers: notes@1", shown);
        Assert.Contains("notes@1, offline", shown);
    }

    [Fact]
    public async Task The_boot_menu_boots_the_previous_version()
    {
        string file = await SeedAsync(_s["menu.qcow2"], "os", "--menu-timeout", "30");
        string monitor = _s["monitor.sock"];
        await using var guest = QemuGuest.Start("256M", [.. Disk(file, "qcow2"), .. QemuGuest.Network([f.Port]), "-monitor", $"unix:{monitor},server=on,wait=off"]);
        Assert.True(await QemuGuest.WaitForAsync(guest, "(the version before 2)", TimeSpan.FromMinutes(2)), "no boot menu entry for version 1:\n" + guest.Out);
        Assert.Contains("[1] Circular: os (latest version)", guest.Out);
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(monitor));
            await socket.SendAsync("sendkey 2\n"u8.ToArray());
            await Task.Delay(500);
        }
        Assert.True(await QemuGuest.WaitForAsync(guest, "CIRC-MARK", Boot), "the menu's second entry did not boot:\n" + guest.Out);
        await QemuGuest.WaitForAsync(guest, "Power down", TimeSpan.FromSeconds(30));
        Assert.Equal("v1", GuestConsole.MarkerOf(guest.Out));
    }

    [Fact]
    public async Task A_disk_filled_with_everything_boots_the_first_time_with_no_network()
    {
        string file = await SeedAsync(_s["full.qcow2"], "os", "--fill", "all");
        var shown = (await CircularCli.RunAsync("seed", "--info", file)).Ok().Out;
        Assert.Contains("filled at creation: all", shown);
        Assert.Contains("never booted", shown);
        string console = await QemuGuest.RunAsync(Boot, "256M", [.. Disk(file, "qcow2"), "-nic", "none"]);
        Assert.True(GuestConsole.MarkerOf(console) == "v2", "a disk filled with every block did not boot offline:\n" + console);
    }

    [Fact]
    public async Task A_disk_filled_with_the_boot_profile_fetches_almost_nothing_at_its_first_boot()
    {
        // A version with a profile recorded by a real boot (host-side, the same kernel and init) and packed.
        string archive = _s["profiled"], profile = _s["boot.profile"];
        (await CircularCli.RunAsync("init", archive)).Ok();
        (await CircularCli.RunAsync("push", archive, "os", f.Scratch["v1.img"], "--kernel", f.Kernel)).Ok();
        var recorded = (await CircularCli.RunAsync(TimeSpan.FromMinutes(5), "boot", archive, "os", "--initrd", "circular", "--accel", "tcg",
            "--memory", "256M", "--cache", "none", "--record-profile", profile, "--", "-nic", "none")).Ok();
        Assert.Contains("CIRC-MARK v1", recorded.Out);
        (await CircularCli.RunAsync("profile", "push", archive, "os@1", profile)).Ok();
        (await CircularCli.RunAsync("optimize", archive, "os@1")).Ok();

        var (server, url) = await CircularCli.ServeAsync(archive);
        await using (server)
        {
            await using var proxy = new TcpProxy(url.Port);
            string file = _s["profiled.qcow2"];
            var made = (await CircularCli.RunAsync(TimeSpan.FromMinutes(5), "seed", archive, "os", "-o", file, "--url", "http://10.0.2.100",
                "--size", "2G", "--initramfs", f.Initramfs, "--menu-timeout", "0", "--fill", "profile")).Ok();
            Assert.Contains("of blocks in its cache", made.Out);
            string console = await QemuGuest.RunAsync(Boot, "256M", [.. Disk(file, "qcow2"), .. QemuGuest.Network([proxy.Port])]);
            Assert.True(GuestConsole.MarkerOf(console) == "v1", "the filled disk did not boot:\n" + console);
            // The boot reads the 8 MB blob (32 chunks) and more (about 40 chunks unfilled); what the profile held came
            // from the disk. The few left are reads the recording boot (virtio, not NBD) did not make.
            var data = proxy.Requests.Where(r => r.Contains("/chunks/", StringComparison.Ordinal) || r.Contains("/packs/", StringComparison.Ordinal)).ToList();
            output.WriteLine($"{proxy.Requests.Count} requests, {data.Count} for data: {string.Join(", ", data)}");
            Assert.True(data.Count <= 6, $"the first boot of a profile-filled disk fetched {data.Count} chunks or packs:\n{string.Join('\n', data)}");
        }
    }
}
