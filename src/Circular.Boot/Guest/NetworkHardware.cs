namespace Circular.Boot.Guest;

/// <summary>
/// Whether the machine has network hardware at all, driver or not, from the buses' device descriptions in sysfs: a PCI
/// network controller (class 0x02), a virtio network device (id 1), a Hyper-V synthetic NIC or a Xen vif. Without
/// one, waiting for a card to appear is waiting for nothing.
/// </summary>
public static class NetworkHardware
{
    /// <summary>The VMBus class id of Hyper-V's synthetic network adapter (hv_netvsc).</summary>
    private const string HyperVNetwork = "{f8615163-df3e-46c5-913f-f2d2f965ed0e}";

    public static bool Present(string sys = "/sys") =>
        Any(sys, "pci", "class", v => v.StartsWith("0x02", StringComparison.Ordinal)) ||
        Any(sys, "virtio", "device", v => v == "0x0001") ||
        Any(sys, "vmbus", "class_id", v => v.Equals(HyperVNetwork, StringComparison.OrdinalIgnoreCase)) ||
        Any(sys, "xen", "devtype", v => v == "vif");

    private static bool Any(string sys, string bus, string attribute, Func<string, bool> matches)
    {
        string devices = Path.Combine(sys, "bus", bus, "devices");
        if (!Directory.Exists(devices)) return false;
        try
        {
            foreach (string device in Directory.EnumerateFileSystemEntries(devices))
            {
                string file = Path.Combine(device, attribute);
                if (File.Exists(file) && matches(File.ReadAllText(file).Trim())) return true;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return false;
    }
}
