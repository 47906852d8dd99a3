using Circular.Core.Archive;

namespace Circular.Boot.Media;

/// <summary>The kernel command line boot media give the Circular initramfs (docs/inetboot.md).</summary>
public static class CommandLine
{
    /// <param name="urls">The archive's URL as the booted machine reaches it, then mirrors.</param>
    /// <param name="trustKeyIds">Keys the initramfs carries that the archive must be signed by (empty: none named).</param>
    public static string For(IReadOnlyList<string> urls, ImageSpec image, IReadOnlyList<string> trustKeyIds, string? extra = null)
    {
        var words = new List<string> { "console=tty0", "console=ttyS0,115200", $"circular.url={string.Join(',', urls.Select(u => u.TrimEnd('/')))}", $"circular.image={image}" };
        if (trustKeyIds.Count > 0) words.Add($"circular.trust={string.Join(',', trustKeyIds)}");
        if (!string.IsNullOrWhiteSpace(extra)) words.Add(extra.Trim());
        return string.Join(' ', words);
    }
}
