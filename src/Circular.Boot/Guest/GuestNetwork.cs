using Circular.Core.Errors;
using Microsoft.Extensions.Logging;

namespace Circular.Boot.Guest;

/// <summary>Brings the booting machine's network up: finds a network card, then DHCP on it, or the static ip= settings.</summary>
public static class GuestNetwork
{
    /// <summary>Configures the network; returns the interface used and its address.</summary>
    /// <param name="cardWait">How long to wait for a network card to appear (less when the machine can boot without one).</param>
    public static async Task<string> UpAsync(BootParameters p, ILogger log, CancellationToken ct, TimeSpan? cardWait = null)
    {
        await Programs.RunAsync("ip", ["link", "set", "lo", "up"], TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        if (p.IpMode == "off") return "none (ip=off)";
        string[] cards = await WaitForCardsAsync(p.StaticIp?.Device, cardWait ?? TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
        if (cards.Length == 0)
            throw new NoNetworkCardException(p.StaticIp?.Device is { } wanted
                ? $"no network card named {wanted} (ip= names it); cards found: {string.Join(", ", Cards())}"
                : NetworkHardware.Present()
                    ? "no network card found: none of the drivers in this initramfs (virtio_net, e1000, e1000e, igb, r8169, vmxnet3, hv_netvsc) matched this machine"
                    : "this machine has no network card");
        if (p.StaticIp is { } s)
        {
            string dev = cards[0];
            await MustAsync("ip", ["link", "set", dev, "up"], ct).ConfigureAwait(false);
            await MustAsync("ip", ["addr", "add", $"{s.Address}/{s.PrefixLength}", "dev", dev], ct).ConfigureAwait(false);
            if (s.Gateway is { } gw) await MustAsync("ip", ["route", "add", "default", "via", gw.ToString(), "dev", dev], ct).ConfigureAwait(false);
            if (s.NameServers.Count > 0)
                await File.WriteAllLinesAsync("/etc/resolv.conf", s.NameServers.Select(ns => $"nameserver {ns}"), ct).ConfigureAwait(false);
            return $"{dev} {s.Address}/{s.PrefixLength}";
        }
        foreach (string dev in cards)
        {
            // -n: exit when no lease; -q: exit once one is bound (the lease is configured by the hook script).
            var r = await Programs.RunAsync("udhcpc", ["-i", dev, "-n", "-q", "-t", "4", "-T", "2", "-f", "-s", "/etc/udhcpc/default.script"],
                TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            if (r.Ok && File.Exists("/run/circular/lease")) return (await File.ReadAllTextAsync("/run/circular/lease", ct).ConfigureAwait(false)).Trim();
            log.LogDebug("udhcpc on {Device}: {Output}", dev, r.Output);
        }
        throw new CircularException($"no DHCP answer on {string.Join(", ", cards)}: check the network cable or the virtual network, or set ip=ADDRESS::GATEWAY:NETMASK");
    }

    /// <summary>
    /// This boot's DHCP lease as an ip= word of static settings (address, gateway, netmask, card, name servers), for the
    /// kernel the double-deck boot kexecs into: the same machine on the same network need not ask again (a second DHCP
    /// exchange cost that boot 1.5-3 s under emulation). Null when DHCP did not configure the network here.
    /// </summary>
    public static string? LeaseWord(string leaseFile = "/run/circular/lease", string resolvConf = "/etc/resolv.conf")
    {
        try
        {
            if (!File.Exists(leaseFile)) return null;
            // The udhcpc hook's line: DEVICE ADDRESS/PREFIX [ROUTER…]
            var f = File.ReadAllText(leaseFile).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (f.Length < 2 || f[1].Split('/') is not [string a, string bits] || !System.Net.IPAddress.TryParse(a, out var address) ||
                address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || !int.TryParse(bits, out int prefix) || prefix is < 0 or > 32)
                return null;
            string gateway = f.Length > 2 && System.Net.IPAddress.TryParse(f[2], out var gw) ? gw.ToString() : "";
            uint maskBits = prefix == 0 ? 0 : uint.MaxValue << (32 - prefix);
            string mask = new System.Net.IPAddress(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(maskBits)).ToString();
            var dns = File.Exists(resolvConf)
                ? File.ReadAllLines(resolvConf).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    .Where(w => w is ["nameserver", _] && System.Net.IPAddress.TryParse(w[1], out var ns) && ns.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                    .Select(w => w[1]).Take(2).ToList()
                : [];
            return $"ip={address}::{gateway}:{mask}::{f[0]}:off" + (dns.Count > 0 ? ":" + string.Join(':', dns) : "");
        }
        catch (IOException) { return null; }
    }

    /// <summary>
    /// Network cards (not loopback) the kernel knows, waiting a little for drivers to find them; not at all when the
    /// machine has no network hardware (a VM started with no card, booting offline from its cache partition).
    /// </summary>
    private static async Task<string[]> WaitForCardsAsync(string? wanted, TimeSpan wait, CancellationToken ct)
    {
        for (int i = 0; i < Math.Max(1, (int)(wait.TotalMilliseconds / 100)); i++)
        {
            var cards = Cards().Where(c => wanted is null || c == wanted).ToArray();
            if (cards.Length > 0) return cards;
            if (i == 0 && !NetworkHardware.Present()) return [];
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
        return [];
    }

    private static string[] Cards() =>
        Directory.Exists("/sys/class/net")
            ? Directory.GetDirectories("/sys/class/net").Select(Path.GetFileName).OfType<string>().Where(n => n != "lo").Order(StringComparer.Ordinal).ToArray()
            : [];

    private static async Task MustAsync(string program, string[] args, CancellationToken ct)
    {
        var r = await Programs.RunAsync(program, args, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        if (!r.Ok) throw new CircularException($"{program} {string.Join(' ', args)} failed: {r.Output}");
    }
}

/// <summary>No network card (or not the one ip= names) appeared within the wait.</summary>
public sealed class NoNetworkCardException(string message) : CircularException(message);
