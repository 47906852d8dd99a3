using System.Text.RegularExpressions;

namespace Circular.Boot.Tests;

/// <summary>What the boot tests read from a guest's serial console: the test images' markers and the kernels started.</summary>
public static partial class GuestConsole
{
    [GeneratedRegex(@"CIRC-MARK ([vn]\d)")]
    private static partial Regex Marker();

    [GeneratedRegex(@"CIRC-NOTE (\S+)")]
    private static partial Regex Note();

    [GeneratedRegex(@"\] Command line: (.*)")]
    private static partial Regex KernelCommandLine();

    /// <summary>"v1", "v2" or "n1": the version whose init printed its marker first, or "no marker".</summary>
    public static string MarkerOf(string console) => Marker().Match(console) is { Success: true } m ? m.Groups[1].Value : "no marker";

    /// <summary>The note an earlier boot of the notes image left ("none" when there was none), or "no note".</summary>
    public static string NoteOf(string console) => Note().Match(console) is { Success: true } m ? m.Groups[1].Value : "no note";

    /// <summary>The command lines of every kernel the console shows starting, in order.</summary>
    public static List<string> Kernels(string console) => [.. KernelCommandLine().Matches(console).Select(m => m.Groups[1].Value.Trim())];
}
