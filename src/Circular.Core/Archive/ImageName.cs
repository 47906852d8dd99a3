using Circular.Core.Errors;

namespace Circular.Core.Archive;

/// <summary>Image names: 1–100 characters of letters, digits, '.', '_' and '-', not starting with '.' or '-'.</summary>
public static class ImageName
{
    public static void Validate(string name)
    {
        if (Problem(name) is { } why) throw new UsageException(why);
    }

    /// <summary>Why <paramref name="name"/> is not a valid image name, or null when it is one.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "an image name must not be empty";
        if (name.Length > 100) return $"image name too long ({name.Length} characters, at most 100)";
        foreach (char c in name)
        {
            if (char.IsControl(c)) return "image name contains a control character";
            if (c == '/' || c == '\\') return $"image name '{name}' must not contain '{c}'";
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
                return $"image name '{name}' contains '{c}': use letters, digits, '.', '_' and '-'";
        }
        if (name.Contains("..", StringComparison.Ordinal)) return $"image name '{name}' must not contain '..'";
        if (name[0] is '.' or '-') return $"image name '{name}' must not start with '{name[0]}'";
        return null;
    }

    /// <summary>Why <paramref name="tag"/> is not a valid tag, or null when it is one.</summary>
    public static string? TagProblem(string? tag)
    {
        if (Problem(tag) is { } why) return why.Replace("image name", "tag", StringComparison.Ordinal);
        if (tag!.All(char.IsAsciiDigit)) return $"tag '{tag}' must not be a number (numbers name versions)";
        if (tag == "latest") return "'latest' is reserved";
        return null;
    }

    public static void ValidateTag(string tag)
    {
        if (TagProblem(tag) is { } why) throw new UsageException(why);
    }
}

/// <summary>NAME, NAME@VERSION, NAME@TAG or NAME@latest, as typed by users and used as NBD export names.</summary>
public readonly record struct ImageSpec(string Name, string? Selector)
{
    public static ImageSpec Parse(string text)
    {
        int at = text.IndexOf('@');
        string name = at < 0 ? text : text[..at];
        string? sel = at < 0 ? null : text[(at + 1)..];
        ImageName.Validate(name);
        if (sel is not null && sel.Length == 0) throw new UsageException($"'{text}': nothing after '@'");
        return new ImageSpec(name, sel);
    }

    /// <summary>The explicit version number, if the selector is one.</summary>
    public int? Number => Selector is not null && int.TryParse(Selector, out int n) ? n : null;

    public override string ToString() => Selector is null ? Name : $"{Name}@{Selector}";
}
