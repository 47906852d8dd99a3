using Circular.Boot.Media;
using Circular.Core.Archive;
using Circular.Core.Refs;

namespace Circular.Boot.Seed;

/// <summary>
/// A seed disk's boot menu: what was asked for first (the default), then the image's latest version, every tag and
/// the version before the chosen one. Names are resolved when the machine boots (NAME and NAME@TAG follow the archive),
/// so the menu rolls forward and back without writing the disk again.
/// </summary>
public static class SeedMenu
{
    /// <param name="asked">What the user asked for; <paramref name="refs"/> resolve it to <paramref name="version"/> today.</param>
    public static IReadOnlyList<SeedMenuEntry> For(ImageSpec asked, ImageRefs refs, int version, IReadOnlyList<string> urls, IReadOnlyList<string> trustKeyIds,
        string cacheUuid, string? extra)
    {
        var specs = new List<(ImageSpec Spec, string Title)>();
        void Add(ImageSpec spec, string title)
        {
            if (!specs.Any(s => s.Spec.ToString() == spec.ToString())) specs.Add((spec, title));
        }
        string name = asked.Name;
        Add(asked, asked.Selector is null ? $"{name} (latest version)" : $"{asked} (version {version} now)");
        Add(new ImageSpec(name, null), $"{name} (latest version)");
        foreach (var (tag, v) in refs.Tags.OrderBy(t => t.Key, StringComparer.Ordinal))
            Add(new ImageSpec(name, tag), $"{name}@{tag} (tag, version {v} now)");
        if (refs.Versions.Where(v => v.Version < version).MaxBy(v => v.Version) is { } previous)
            Add(new ImageSpec(name, previous.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)), $"{name}@{previous.Version} (the version before {version})");
        string extraWords = $"circular.cache=UUID={cacheUuid}" + (string.IsNullOrWhiteSpace(extra) ? "" : " " + extra.Trim());
        return specs.Select(s => new SeedMenuEntry($"Circular: {s.Title}", s.Spec.ToString(), CommandLine.For(urls, s.Spec, trustKeyIds, extraWords))).ToList();
    }
}
