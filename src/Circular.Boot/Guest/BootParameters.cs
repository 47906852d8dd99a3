using System.Globalization;
using System.Net;
using Circular.Core.Archive;
using Circular.Core.Chunks;
using Circular.Core.Errors;

namespace Circular.Boot.Guest;

/// <summary>Static network settings from ip=CLIENT::GATEWAY:NETMASK:HOSTNAME:DEVICE:AUTOCONF:DNS0:DNS1 (the kernel's nfsroot syntax).</summary>
public sealed record StaticAddress(IPAddress Address, int PrefixLength, IPAddress? Gateway, string? Hostname, string? Device)
{
    /// <summary>Name servers (the eighth and ninth fields), written to /etc/resolv.conf.</summary>
    public IReadOnlyList<IPAddress> NameServers { get; init; } = [];
}

/// <summary>
/// What the Circular initramfs reads from the kernel command line (docs/inetboot.md, "Kernel command line"). Unknown
/// words belong to the kernel or the booted system and are ignored.
/// </summary>
public sealed record BootParameters
{
    public const int DefaultTimeoutSeconds = 120;

    /// <summary>The archive's URL, then its mirrors (circular.url=URL[,MIRROR…]).</summary>
    public IReadOnlyList<string> Urls { get; init; } = [];
    /// <summary>circular.image=NAME[@VERSION|@TAG]; null when not given (a menu chooses, where the medium has one).</summary>
    public ImageSpec? Image { get; init; }
    /// <summary>circular.trust=KEYID[,KEYID]: keys carried in the initramfs (/etc/circular/keys) the archive must be signed by.</summary>
    public IReadOnlyList<string> TrustKeyIds { get; init; } = [];
    /// <summary>circular.cache=auto|none|DEVICE: the persistent chunk cache (auto: a partition labelled CIRCULAR-CACHE, when present).</summary>
    public string Cache { get; init; } = "auto";
    /// <summary>
    /// circular.disk=DEVICE: the root is on a local block device (the disk `circular boot` gives a guest), not fetched
    /// here: no network, no archive; the device is mounted read-write as the root.
    /// </summary>
    public string? Disk { get; init; }
    /// <summary>circular.timeout=SECONDS: how long reads wait through a network outage before failing with EIO.</summary>
    public int TimeoutSeconds { get; init; } = DefaultTimeoutSeconds;
    /// <summary>circular.root=auto|N|LABEL=X|UUID=X: which file system of the image is the root (auto: the one holding an init).</summary>
    public string Root { get; init; } = "auto";
    /// <summary>circular.overlay=auto|tmpfs|cache: where the root's writable layer lives (auto: the cache partition when there is one).</summary>
    public string Overlay { get; init; } = "auto";
    /// <summary>init= or circular.init=: the program started in the image (default: /sbin/init, else /init).</summary>
    public string? Init { get; init; }
    /// <summary>circular.memory=SIZE: decoded chunks kept in RAM (default: a sixteenth of the machine's memory, 16-64 MiB).</summary>
    public long? MemoryCacheBytes { get; init; }
    /// <summary>
    /// circular.readahead=SIZE: the kernel's readahead window on the root's device (default 1 MiB, 4 KiB-16 MiB). The
    /// profile-recording boot must use the seed boot's value, or the profile misses pages the other window reads.
    /// </summary>
    public int ReadaheadKiB { get; init; } = DefaultReadaheadKiB;
    public const int DefaultReadaheadKiB = 1024;
    /// <summary>ip=dhcp (default), ip=off, or static settings.</summary>
    public string IpMode { get; init; } = "dhcp";
    public StaticAddress? StaticIp { get; init; }
    /// <summary>circular.menu-timeout=SECONDS: how long a boot menu waits before taking the default.</summary>
    public int MenuTimeoutSeconds { get; init; } = 10;
    /// <summary>
    /// Show the archive's boot menu and kexec into the chosen version's own kernel (the universal medium's double-deck
    /// boot): when no circular.image is given, or circular.menu-timeout or circular.menu is.
    /// </summary>
    public bool Menu { get; init; }
    /// <summary>
    /// circular.initrd=PATH: where this kernel's initramfs lies on its own boot medium (the universal ISO names
    /// /boot/initramfs), so the double-deck boot can hand that compressed file to the next kernel.
    /// </summary>
    public string? MediumInitrd { get; init; }

    public static BootParameters Parse(string cmdline)
    {
        var p = new BootParameters();
        foreach (string word in Split(cmdline))
        {
            int eq = word.IndexOf('=');
            string key = eq < 0 ? word : word[..eq];
            string value = eq < 0 ? "" : word[(eq + 1)..];
            p = key switch {
                "circular.url" => p with { Urls = value.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(CheckUrl).ToList() },
                "circular.image" => p with { Image = ParseImage(value) },
                "circular.trust" => p with { TrustKeyIds = value.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(CheckKeyId).ToList() },
                "circular.cache" => p with { Cache = value.Length > 0 ? value : "auto" },
                "circular.disk" => p with { Disk = value.StartsWith("/dev/", StringComparison.Ordinal) ? value : throw Bad(key, value, "a device such as /dev/vda") },
                "circular.timeout" => p with { TimeoutSeconds = Seconds(key, value) },
                "circular.root" => p with { Root = value.Length > 0 ? value : "auto" },
                "circular.overlay" => p with { Overlay = value is "auto" or "tmpfs" or "cache" ? value : throw Bad(key, value, "auto, tmpfs or cache") },
                "circular.init" or "init" => p with { Init = value.StartsWith('/') ? value : throw Bad(key, value, "an absolute path") },
                "circular.memory" => p with { MemoryCacheBytes = ByteSize.Parse(value) },
                "circular.readahead" => p with { ReadaheadKiB = Readahead(key, value) },
                "circular.menu-timeout" => p with { MenuTimeoutSeconds = Seconds(key, value), Menu = true },
                "circular.menu" => p with { Menu = value is not ("0" or "off" or "no") },
                "circular.initrd" => p with {
                    MediumInitrd = value.StartsWith('/') && !value.Split('/').Contains("..") ? value : throw Bad(key, value, "an absolute path on the boot medium"),
                },
                "ip" => ParseIp(p, value),
                _ => p,
            };
        }
        return p;
    }

    /// <summary>Words of the command line; a double-quoted value may hold spaces (as the kernel allows).</summary>
    private static IEnumerable<string> Split(string cmdline)
    {
        var word = new System.Text.StringBuilder();
        bool quoted = false;
        foreach (char c in cmdline + " ")
        {
            if (c == '"') { quoted = !quoted; continue; }
            if (char.IsWhiteSpace(c) && !quoted)
            {
                if (word.Length > 0) yield return word.ToString();
                word.Clear();
                continue;
            }
            word.Append(c);
        }
    }

    private static UsageException Bad(string key, string value, string expected) => new($"{key}={value}: expected {expected}");

    private static int Seconds(string key, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int s) && s > 0 ? s : throw Bad(key, value, "a number of seconds");

    private static int Readahead(string key, string value)
    {
        long bytes;
        try { bytes = ByteSize.Parse(value); }
        catch (UsageException) { throw Bad(key, value, "a size such as 128K or 1M"); }
        return bytes is >= 4 << 10 and <= 16 << 20 && bytes % 4096 == 0 ? (int)(bytes >> 10) : throw Bad(key, value, "a multiple of 4K from 4K to 16M");
    }

    private static string CheckUrl(string url) =>
        (url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) && Uri.TryCreate(url, UriKind.Absolute, out _)
            ? url.TrimEnd('/') : throw Bad("circular.url", url, "an http:// or https:// URL");

    private static ImageSpec ParseImage(string value)
    {
        try { return ImageSpec.Parse(value); }
        catch (UsageException e) { throw new UsageException($"circular.image={value}: {e.Message}"); }
    }

    private static string CheckKeyId(string id) =>
        Core.Signing.KeyId.IsValid(id) ? id : throw Bad("circular.trust", id, "a key id (16 hex digits, as 'circular key generate' prints)");

    /// <summary>ip=dhcp|on|any|off|none, or CLIENT:SERVER:GATEWAY:NETMASK:HOSTNAME:DEVICE:AUTOCONF:DNS0:DNS1 (empty fields allowed).</summary>
    private static BootParameters ParseIp(BootParameters p, string value)
    {
        switch (value)
        {
            case "dhcp" or "on" or "any" or "both" or "":
                return p with { IpMode = "dhcp", StaticIp = null };
            case "off" or "none":
                return p with { IpMode = "off", StaticIp = null };
        }
        var f = value.Split(':');
        string Field(int i) => i < f.Length ? f[i] : "";
        if (!IPAddress.TryParse(Field(0), out var address))
        {
            // ip=:::::eth0:dhcp style: DHCP, possibly on a named device.
            return p with { IpMode = "dhcp", StaticIp = null };
        }
        int prefix = 24;
        if (Field(3).Length > 0)
        {
            if (!IPAddress.TryParse(Field(3), out var mask)) throw Bad("ip", value, "a netmask such as 255.255.255.0 in the fourth field");
            prefix = PrefixOf(mask);
        }
        IPAddress? gateway = Field(2).Length > 0 ? IPAddress.TryParse(Field(2), out var gw) ? gw : throw Bad("ip", value, "a gateway address in the third field") : null;
        var dns = new List<IPAddress>();
        foreach (int i in new[] { 7, 8 })
        {
            if (Field(i).Length == 0) continue;
            dns.Add(IPAddress.TryParse(Field(i), out var ns) ? ns : throw Bad("ip", value, "a name server address in the eighth and ninth fields"));
        }
        return p with {
            IpMode = "static",
            StaticIp = new StaticAddress(address, prefix, gateway, Field(4).Length > 0 ? Field(4) : null, Field(5).Length > 0 ? Field(5) : null) { NameServers = dns },
        };
    }

    private static int PrefixOf(IPAddress mask)
    {
        int bits = 0;
        foreach (byte b in mask.GetAddressBytes()) bits += System.Numerics.BitOperations.PopCount(b);
        return bits;
    }

    /// <summary>The memory cache size: circular.memory, else a sixteenth of RAM within 16-64 MiB (a 256 MB guest gets 16 MiB).</summary>
    public long MemoryCache(long ramBytes) => MemoryCacheBytes ?? Math.Clamp(ramBytes / 16, 16L << 20, 64L << 20);
}
