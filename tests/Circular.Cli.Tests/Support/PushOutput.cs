using System.Text.Json;
using System.Text.RegularExpressions;

namespace Circular.Cli.Tests.Support;

/// <summary>The counts `circular push` reports ("pushed NAME version V", "blocks: T total, N new, R reused, Z zero").</summary>
public sealed partial record PushOutput(int Version, long Total, long New, long Reused, long Zero)
{
    [GeneratedRegex(@"pushed \S+ version (\d+)")] private static partial Regex VersionLine();
    [GeneratedRegex(@"(?:blocks|chunks): (\d+) total, (\d+) new, (\d+) reused, (\d+) zero")] private static partial Regex BlocksLine();

    public static PushOutput Parse(RunResult r)
    {
        var v = VersionLine().Match(r.Out);
        var b = BlocksLine().Match(r.Out);
        Assert.True(v.Success && b.Success, "unexpected push output: " + r.Out);
        return new PushOutput(int.Parse(v.Groups[1].Value), long.Parse(b.Groups[1].Value), long.Parse(b.Groups[2].Value),
            long.Parse(b.Groups[3].Value), long.Parse(b.Groups[4].Value));
    }

    public static async Task<PushOutput> PushAsync(params string[] args) => Parse((await CircularCli.RunAsync(["push", .. args])).Ok());
}

/// <summary>Reads images/NAME/refs.json directly, as a static HTTP client would.</summary>
public static class RefsFile
{
    public static JsonElement Read(string archive, string image) =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(archive, "images", image, "refs.json"))).RootElement;

    public static JsonElement Version(string archive, string image, int version) =>
        Read(archive, image).GetProperty("versions").EnumerateArray().Single(v => v.GetProperty("version").GetInt32() == version);

    public static int[] Versions(string archive, string image) =>
        Read(archive, image).GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()).Order().ToArray();

    public static int Latest(string archive, string image) => Read(archive, image).GetProperty("latest").GetInt32();
}
