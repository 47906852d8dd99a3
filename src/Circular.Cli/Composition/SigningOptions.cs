using System.CommandLine;
using System.Globalization;
using Circular.Core.Errors;
using Circular.Core.Signing;
using Circular.Storage.Trust;

namespace Circular.Cli.Composition;

/// <summary>Options of every command that writes refs or manifests: the key to sign with and how long refs stay valid.</summary>
public sealed class SigningOptions
{
    public Option<string?> Key { get; } = new("--key") { Description = "Sign the manifests and refs written with this private key (from 'circular key generate')" };
    public Option<string> Expires { get; } = new("--expires") {
        Description = "How long the signed refs stay valid (e.g. 30d, 12h, 90m); clients refuse them afterwards until 'circular key resign'",
        DefaultValueFactory = _ => "30d",
    };

    public void AddTo(Command cmd)
    {
        cmd.Options.Add(Key);
        cmd.Options.Add(Expires);
    }

    /// <summary>The signer for --key, or null when no key was given.</summary>
    public ArchiveSigner? Read(ParseResult pr)
    {
        var validity = ParseDuration(pr.GetValue(Expires)!);
        return pr.GetValue(Key) is { } path ? new ArchiveSigner(SigningKey.Load(path), validity) : null;
    }

    /// <summary>A positive duration: a number with a unit s, m, h or d.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        string t = text.Trim();
        if (t.Length >= 2 && long.TryParse(t[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n > 0)
        {
            switch (t[^1])
            {
                case 's': return TimeSpan.FromSeconds(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 'h': return TimeSpan.FromHours(n);
                case 'd': return TimeSpan.FromDays(n);
            }
        }
        throw new UsageException($"--expires '{text}': give a positive number with a unit s, m, h or d (e.g. 30d)");
    }
}
