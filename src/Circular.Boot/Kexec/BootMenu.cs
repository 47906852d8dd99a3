using System.Globalization;
using Circular.Core.Archive;
using Circular.Core.Errors;
using Circular.Storage.Archive;

namespace Circular.Boot.Kexec;

/// <summary>One choice of the universal medium's menu.</summary>
public sealed record MenuChoice(ImageSpec Spec, string Title);

/// <summary>
/// The universal boot medium's menu (the seed's double-deck boot), read live from the archive so it never goes stale:
/// the latest version of each image first; `v` lists every version and tag. A number picks an entry; Enter, or the
/// timeout, takes the default.
/// </summary>
public static class BootMenu
{
    /// <summary>The menu's entries: the latest of every image, or with <paramref name="all"/> every version and tag too.</summary>
    public static async Task<IReadOnlyList<MenuChoice>> EntriesAsync(ArchiveReader reader, bool all, CancellationToken ct)
    {
        var entries = new List<MenuChoice>();
        foreach (string image in await reader.ListImagesAsync(ct).ConfigureAwait(false))
        {
            var refs = await reader.TryGetRefsAsync(image, ct).ConfigureAwait(false);
            if (refs is null || refs.Versions.Count == 0) continue;
            var latest = refs.Find(refs.Latest);
            entries.Add(new MenuChoice(new ImageSpec(image, refs.Latest.ToString(CultureInfo.InvariantCulture)),
                $"{image} (latest: version {refs.Latest}{(latest?.Message is { Length: > 0 } m ? ", " + m : "")})"));
            if (!all) continue;
            foreach (var (tag, v) in refs.Tags.OrderBy(t => t.Key, StringComparer.Ordinal))
                entries.Add(new MenuChoice(new ImageSpec(image, tag), $"{image}@{tag} (version {v})"));
            foreach (var v in refs.Versions.Where(v => v.Version != refs.Latest).OrderByDescending(v => v.Version))
                entries.Add(new MenuChoice(new ImageSpec(image, v.Version.ToString(CultureInfo.InvariantCulture)),
                    $"{image}@{v.Version} ({v.Created.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}{(v.Message is { Length: > 0 } msg ? ", " + msg : "")})"));
        }
        return entries;
    }

    /// <summary>
    /// Shows the menu on <paramref name="output"/> and returns the choice: the one typed on <paramref name="input"/>, else
    /// <paramref name="preset"/> (circular.image) or the first entry when the timeout passes or Enter is pressed.
    /// </summary>
    /// <param name="shown">Told the default each time the menu is shown, before the wait (the caller may make it ready meanwhile).</param>
    public static async Task<ImageSpec> ChooseAsync(ArchiveReader reader, ImageSpec? preset, int timeoutSeconds, TextReader input, TextWriter output, CancellationToken ct,
        Action<ImageSpec>? shown = null)
    {
        bool all = false;
        while (true)
        {
            var entries = await EntriesAsync(reader, all, ct).ConfigureAwait(false);
            if (entries.Count == 0) throw new NotFoundException("the archive holds no image with a version to boot");
            var fallback = preset ?? entries[0].Spec;
            output.WriteLine();
            output.WriteLine("Circular boot menu");
            for (int i = 0; i < entries.Count; i++) output.WriteLine($"  {i + 1,2}. {entries[i].Title}");
            output.WriteLine(all ? "" : "   v. every version and tag");
            output.Write($"Boot which? [{fallback}, in {timeoutSeconds} s] ");
            output.Flush();
            shown?.Invoke(fallback);
            string? line = await ReadLineAsync(input, TimeSpan.FromSeconds(timeoutSeconds), ct).ConfigureAwait(false);
            output.WriteLine();
            line = line?.Trim();
            if (string.IsNullOrEmpty(line)) return fallback;
            if (line is "v" or "V") { all = true; continue; }
            if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 && n <= entries.Count) return entries[n - 1].Spec;
            try { return ImageSpec.Parse(line); }
            catch (UsageException e) { output.WriteLine($"circular: {e.Message}"); }
        }
    }

    /// <summary>A line from the console, or null when none comes in time (the read is left pending: a console read cannot be cancelled).</summary>
    private static async Task<string?> ReadLineAsync(TextReader input, TimeSpan timeout, CancellationToken ct)
    {
        var read = Task.Run(input.ReadLine, CancellationToken.None);
        var done = await Task.WhenAny(read, Task.Delay(timeout, ct)).ConfigureAwait(false);
        return done == read ? await read.ConfigureAwait(false) : null;
    }
}
