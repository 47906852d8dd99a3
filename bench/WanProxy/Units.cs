using System.Globalization;

namespace Circular.Bench.WanProxy;

/// <summary>Parses "50ms", "0.15s", "150" (milliseconds) and "100mbit", "1gbit", "500kbit", "12500000" (bit/s).</summary>
public static class Units
{
    public static TimeSpan ParseDuration(string s)
    {
        s = s.Trim().ToLowerInvariant();
        (string number, double scale) = s.EndsWith("ms", StringComparison.Ordinal) ? (s[..^2], 1e-3)
            : s.EndsWith("us", StringComparison.Ordinal) ? (s[..^2], 1e-6)
            : s.EndsWith('s') ? (s[..^1], 1.0)
            : (s, 1e-3);
        return TimeSpan.FromSeconds(Parse(number) * scale);
    }

    public static double ParseBitsPerSecond(string s)
    {
        s = s.Trim().ToLowerInvariant();
        if (s is "0" or "unlimited" or "none")
        {
            return 0;
        }
        foreach ((string suffix, double scale) in new[] { ("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0) })
        {
            if (s.EndsWith(suffix, StringComparison.Ordinal))
            {
                return Parse(s[..^suffix.Length]) * scale;
            }
        }
        return Parse(s);
    }

    private static double Parse(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= 0
            ? v
            : throw new FormatException($"not a number: '{s}'");
}
