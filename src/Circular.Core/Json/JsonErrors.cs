using System.Text.Json;

namespace Circular.Core.Json;

/// <summary>
/// Turns System.Text.Json's exceptions into messages for users: where in the file the problem is, without the .NET
/// type names its own messages carry ("could not be converted to Circular.Core.Refs.ImageRefs").
/// </summary>
public static class JsonErrors
{
    public static string Describe(JsonException e)
    {
        string line = e.LineNumber is long n ? $" (line {n + 1})" : "";
        return e.Path is { Length: > 0 } p && p != "$"
            ? $"the value at {p}{line} is missing, of the wrong type or malformed"
            : $"not valid JSON{line}";
    }
}
