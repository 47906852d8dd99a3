using Circular.Core.Errors;

namespace Circular.Storage.Trust;

/// <summary>One line of a measurement log: the chain value it claims, what was measured, and an optional label.</summary>
public sealed record MeasurementEvent(int Line, string Chain, string Kind, string Value, string? Label)
{
    /// <summary>Parses a log's text: comment lines (#) and blank lines are skipped; anything else malformed is an error.</summary>
    public static List<MeasurementEvent> ParseLog(string text, string what)
    {
        var events = new List<MeasurementEvent>();
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#')) continue;
            string[] f = line.Split(' ', 4);
            if (f.Length < 3 || !f[0].StartsWith("sha256:", StringComparison.Ordinal) || f[1] is not ("manifest" or "chunk") ||
                !IsHex32(f[0]["sha256:".Length..]) || !IsHex32(f[2]))
                throw new ArchiveFormatException($"{what} line {i + 1} is not a measurement: '{(line.Length > 80 ? line[..80] + "…" : line)}'");
            events.Add(new MeasurementEvent(i + 1, f[0]["sha256:".Length..], f[1], f[2], f.Length > 3 ? f[3] : null));
        }
        return events;
    }

    private static bool IsHex32(string s) => s.Length == 64 && s.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
