namespace Circular.Testing;

/// <summary>
/// Headless Chromium (Debian's package) as a real browser for page tests: the DOM after the page's scripts ran, and
/// screenshots kept as test artifacts (<see cref="Artifacts"/>).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class Chromium
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);

    private static string[] Flags(string profile) =>
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
        "--disable-background-networking", "--disable-component-update", "--user-data-dir=" + profile,
        // Lets the page's own scripts run before the DOM is taken.
        "--virtual-time-budget=3000",
    ];

    /// <summary>The serialized DOM of <paramref name="url"/> as the browser built it.</summary>
    public static async Task<string> DumpDomAsync(Uri url)
    {
        string profile = Scratch.NewReadableDir("circ-chromium-");
        try { return (await Tools.TryAsync(s_timeout, null, "chromium", [.. Flags(profile), "--dump-dom", url.ToString()])).Ok().Out; }
        finally { Scratch.Delete(profile); }
    }

    /// <summary>Saves a screenshot of <paramref name="url"/> at a window size as Artifacts/NAME.png and returns its path.</summary>
    public static async Task<string> ScreenshotAsync(Uri url, string name, int width = 1280, int height = 1600)
    {
        string file = Path.Combine(Artifacts.Dir("screenshots"), name + ".png");
        string profile = Scratch.NewReadableDir("circ-chromium-");
        try
        {
            (await Tools.TryAsync(s_timeout, null, "chromium", [.. Flags(profile), $"--window-size={width},{height}", "--screenshot=" + file, url.ToString()])).Ok();
        }
        finally { Scratch.Delete(profile); }
        if (!File.Exists(file) || new FileInfo(file).Length < 1000) throw new Xunit.Sdk.XunitException($"chromium wrote no screenshot of {url}");
        return file;
    }
}

/// <summary>Where tests keep files for people to look at after a run: $CIRCULAR_TEST_ARTIFACTS, else test-artifacts/ at the repository root.</summary>
public static class Artifacts
{
    public static string Dir(string sub)
    {
        string root = Environment.GetEnvironmentVariable("CIRCULAR_TEST_ARTIFACTS") is { Length: > 0 } env ? env : Path.Combine(RepositoryRoot(), "test-artifacts");
        string dir = Path.Combine(root, sub);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Circular.slnx"))) return d.FullName;
        return Path.GetTempPath();
    }
}
