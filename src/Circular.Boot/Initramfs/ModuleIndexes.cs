using System.Text;

namespace Circular.Boot.Initramfs;

/// <summary>
/// The module index files an initramfs carries, cut down to the modules it carries: the host's modules.dep and
/// modules.alias are 0.5 and 1.3 MB, and busybox's modprobe reads them whole at every call, which under an emulated CPU
/// cost a noticeable part of a boot. Also splits the modules asked for into device drivers (loaded only for devices
/// the machine has, by their modalias) and the rest (file systems, NBD, loop: loaded always).
/// </summary>
public static class ModuleIndexes
{
    /// <summary>Buses whose devices announce a modalias: a module with an alias on one of them drives hardware.</summary>
    private static readonly string[] s_deviceBuses =
        ["pci:", "virtio:", "vmbus:", "xen:", "acpi:", "usb:", "hid:", "platform:", "of:", "mdio:", "pcmcia:", "serio:", "input:"];
    // Not "scsi:": disk and CD drivers (sd_mod, sr_mod) match disks that host adapters find asynchronously, after the
    // devices were looked at; they are small, and load always.

    /// <summary>
    /// Writes each index of <paramref name="modules"/>'s tree, keeping only lines about <paramref name="carried"/>
    /// (canonical module names), into <paramref name="add"/> (path relative to the tree, content).
    /// </summary>
    public static void Write(KernelModules modules, IReadOnlySet<string> carried, Action<string, byte[]> add)
    {
        Filter(modules, "modules.dep", carried, add, line => KernelModules.NameOf(line[..Math.Max(0, line.IndexOf(':'))]));
        // "alias PATTERN MODULE" (modules.alias, modules.symbols), "softdep MODULE pre: …".
        Filter(modules, "modules.alias", carried, add, line => Field(line, 2));
        Filter(modules, "modules.symbols", carried, add, line => Field(line, 2));
        Filter(modules, "modules.softdep", carried, add, line => Field(line, 1));
        Filter(modules, "modules.order", carried, add, KernelModules.NameOf);
        string builtin = Path.Combine(modules.Root, "modules.builtin");
        if (File.Exists(builtin)) add("modules.builtin", File.ReadAllBytes(builtin)); // small, and every line may matter
    }

    /// <summary>Of <paramref name="names"/>, those whose modules.alias entries name a device bus: loaded by modalias.</summary>
    public static IReadOnlySet<string> Drivers(KernelModules modules, IEnumerable<string> names)
    {
        var wanted = names.Select(KernelModules.Canonical).ToHashSet(StringComparer.Ordinal);
        var drivers = new HashSet<string>(StringComparer.Ordinal);
        string file = Path.Combine(modules.Root, "modules.alias");
        if (!File.Exists(file)) return drivers;
        foreach (string line in File.ReadLines(file))
        {
            string module = Field(line, 2);
            if (!wanted.Contains(module)) continue;
            string pattern = Field(line, 1);
            if (s_deviceBuses.Any(b => pattern.StartsWith(b, StringComparison.Ordinal))) drivers.Add(module);
        }
        return drivers;
    }

    private static void Filter(KernelModules modules, string index, IReadOnlySet<string> carried, Action<string, byte[]> add, Func<string, string> moduleOf)
    {
        string file = Path.Combine(modules.Root, index);
        if (!File.Exists(file)) return;
        var kept = new StringBuilder();
        foreach (string line in File.ReadLines(file))
            if (line.StartsWith('#') || carried.Contains(KernelModules.Canonical(moduleOf(line)))) kept.Append(line).Append('\n');
        add(index, Encoding.UTF8.GetBytes(kept.ToString()));
    }

    private static string Field(string line, int index)
    {
        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return f.Length > index ? f[index] : "";
    }
}
