namespace Circular.Trust.Tests.Support;

/// <summary>
/// A user of the real `circular` with trust state of its own (XDG_DATA_HOME), so pinned keys and seen serials never
/// leak between tests.
/// </summary>
public sealed class CliUser(string dataHome)
{
    /// <summary>What this user's `circular` runs with, besides the test process's environment.</summary>
    public Dictionary<string, string> Environment { get; } = new() { ["XDG_DATA_HOME"] = dataHome };

    public Task<RunResult> RunAsync(params string[] args) => CircularCli.RunAsync(Environment, args);

    public BackgroundProcess Start(params string[] args) => CircularCli.Start(Environment, args);
}

public static class CliUsers
{
    /// <summary>A client with its own trust state in the scratch directory.</summary>
    public static CliUser NewClient(this Scratch scratch, string name = "client") => new(scratch[name + "-data"]);

    /// <summary>Asserts a refusal: exit 1, one "circular: …" line containing <paramref name="reason"/>, nothing on stdout.</summary>
    public static RunResult Refused(this RunResult r, string reason)
    {
        if (r.Code != 1 || !r.Err.Contains(reason, StringComparison.Ordinal) || r.Out.Length != 0)
            throw new Xunit.Sdk.XunitException($"expected a refusal with '{reason}', got exit {r.Code}\nstdout: {r.Out}\nstderr: {r.Err}");
        return r;
    }
}
