using Circular.Core.Errors;

namespace Circular.Boot.Initramfs;

/// <summary>
/// A kernel's module tree (/lib/modules/VERSION): which modules are built in, which are files, and what each needs
/// (modules.dep, modules.softdep), so an initramfs can carry exactly a set of modules and everything they load.
/// </summary>
public sealed class KernelModules
{
    private readonly Dictionary<string, (string Path, string[] Deps)> _modules = new(StringComparer.Ordinal);
    private readonly HashSet<string> _builtin = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _softPre = new(StringComparer.Ordinal);

    private KernelModules(string root, string version)
    {
        Root = root;
        Version = version;
    }

    /// <summary>The tree's directory (…/lib/modules/VERSION).</summary>
    public string Root { get; }
    public string Version { get; }

    /// <summary>Module names are compared with '-' and '_' alike, as the kernel does.</summary>
    public static string Canonical(string name) => name.Replace('-', '_');

    public static KernelModules Load(string root)
    {
        string dep = Path.Combine(root, "modules.dep");
        if (!File.Exists(dep))
            throw new NotFoundException($"{root} is not a kernel module tree (no modules.dep): install the kernel's package " +
                $"(apt-get install linux-image-{Path.GetFileName(root.TrimEnd('/'))}) or pass --modules DIR");
        var m = new KernelModules(root, Path.GetFileName(root.TrimEnd('/')));
        foreach (string line in File.ReadLines(dep))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            string path = line[..colon];
            string[] deps = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            m._modules[NameOf(path)] = (path, deps.Select(NameOf).ToArray());
        }
        string builtin = Path.Combine(root, "modules.builtin");
        if (File.Exists(builtin))
            foreach (string line in File.ReadLines(builtin)) m._builtin.Add(NameOf(line.Trim()));
        string soft = Path.Combine(root, "modules.softdep");
        if (File.Exists(soft))
            foreach (string line in File.ReadLines(soft))
            {
                // "softdep ext4 pre: crypto-crc32c": what modprobe would load first; busybox's modprobe ignores it.
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 4 || f[0] != "softdep" || f[2] != "pre:") continue;
                m._softPre[Canonical(f[1])] = f[3..].TakeWhile(x => !x.EndsWith(':')).ToList();
            }
        return m;
    }

    /// <summary>"kernel/fs/ext4/ext4.ko" (or .ko.xz, .ko.zst) → "ext4".</summary>
    public static string NameOf(string path)
    {
        string file = Path.GetFileName(path);
        int ko = file.IndexOf(".ko", StringComparison.Ordinal);
        return Canonical(ko >= 0 ? file[..ko] : file);
    }

    public bool IsBuiltin(string name) => _builtin.Contains(Canonical(name));
    public bool Has(string name) => _modules.ContainsKey(Canonical(name));

    /// <summary>
    /// The module files (relative to <see cref="Root"/>) that <paramref name="names"/> need, dependencies included, in an
    /// order where every module comes after what it needs. Built-in modules need no file; a name in neither is listed
    /// in <paramref name="missing"/>. Soft pre-dependencies resolvable to a module (crc32c for ext4) come along too.
    /// </summary>
    public IReadOnlyList<string> Closure(IEnumerable<string> names, out IReadOnlyList<string> missing)
    {
        var order = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var absent = new List<string>();
        void Visit(string name, bool optional)
        {
            name = Canonical(name);
            if (!seen.Add(name) || _builtin.Contains(name)) return;
            if (!_modules.TryGetValue(name, out var module))
            {
                if (!optional) absent.Add(name);
                return;
            }
            foreach (var pre in _softPre.GetValueOrDefault(name) ?? []) Visit(SoftTarget(pre), optional: true);
            foreach (var dep in module.Deps) Visit(dep, optional: false);
            order.Add(module.Path);
        }
        foreach (string n in names) Visit(n, optional: false);
        missing = absent;
        return order;
    }

    /// <summary>"crypto-crc32c" names an algorithm: the generic implementation module carries it (crc32c_generic).</summary>
    private string SoftTarget(string alias)
    {
        string a = Canonical(alias);
        if (!a.StartsWith("crypto_", StringComparison.Ordinal)) return a;
        string algorithm = a["crypto_".Length..];
        return _modules.ContainsKey(algorithm + "_generic") ? algorithm + "_generic" : algorithm;
    }
}
