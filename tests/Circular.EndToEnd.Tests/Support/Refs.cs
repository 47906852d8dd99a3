using System.Text.Json;

namespace Circular.EndToEnd.Tests.Support;

/// <summary>Reads images/NAME/refs.json directly, as a static HTTP client would.</summary>
public static class Refs
{
    public static int[] Versions(string archive, string image) =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(archive, "images", image, "refs.json"))).RootElement
            .GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()).Order().ToArray();

    public static JsonElement Version(string archive, string image, int version) =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(archive, "images", image, "refs.json"))).RootElement
            .GetProperty("versions").EnumerateArray().Single(v => v.GetProperty("version").GetInt32() == version);
}
