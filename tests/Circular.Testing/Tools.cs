namespace Circular.Testing;

/// <summary>
/// Runs external programs (mkfs.ext4, qemu-img, nbdcopy, mount, ...). A missing program fails the test naming the
/// Debian package to install: these tests never skip, since a skip would hide that the real tools were not tried.
/// </summary>
public static class Tools
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    /// <summary>PATH with the system directories added: mount helpers and mkfs live in sbin, which a user's PATH may lack.</summary>
    private static readonly string s_path = string.Join(':',
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]).Distinct());

    /// <summary>The full path of <paramref name="tool"/>; fails the test, never skips, when it is not installed.</summary>
    public static string Locate(string tool)
    {
        if (tool.Contains('/')) return tool;
        foreach (var dir in s_path.Split(':'))
        {
            string candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate)) return candidate;
        }
        throw new Xunit.Sdk.XunitException(
            $"{tool} is needed by this test but is not installed: apt-get install {ToolPackages.Of(tool)} (scripts/install-deps.sh installs them all)");
    }

    /// <summary>Checks every tool a test needs up front, so a missing one fails loudly before any work.</summary>
    public static void Require(params string[] tools)
    {
        foreach (var t in tools) Locate(t);
    }

    /// <summary>Runs a tool and returns its result whatever the exit code.</summary>
    public static RunResult Try(string tool, params string[] args) => Try(DefaultTimeout, tool, args);

    public static RunResult Try(TimeSpan timeout, string tool, params string[] args) =>
        TryAsync(timeout, null, tool, args).GetAwaiter().GetResult();

    /// <summary>Runs a tool that must succeed; returns its stdout.</summary>
    public static string Run(string tool, params string[] args) => Try(tool, args).Ok().Out;

    /// <summary>
    /// <see cref="Try(string, string[])"/> without blocking the caller's thread: for tests whose server under test runs in
    /// this process.
    /// </summary>
    public static Task<RunResult> TryAsync(string tool, params string[] args) => TryAsync(DefaultTimeout, null, tool, args);

    public static async Task<string> RunAsync(string tool, params string[] args) => (await TryAsync(tool, args)).Ok().Out;

    /// <summary>Runs a tool with extra environment variables (say, the TCTI of a software TPM) within <paramref name="timeout"/>.</summary>
    public static Task<RunResult> TryAsync(TimeSpan timeout, IReadOnlyDictionary<string, string>? environment, string tool, params string[] args)
    {
        var psi = ChildProcess.StartInfo(Locate(tool), args, [new("PATH", s_path), .. environment ?? new Dictionary<string, string>()]);
        return ChildProcess.RunAsync(psi, $"{tool} {string.Join(' ', args)}", timeout);
    }
}
