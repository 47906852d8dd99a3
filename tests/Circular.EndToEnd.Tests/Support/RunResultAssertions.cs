namespace Circular.EndToEnd.Tests.Support;

public static class RunResultAssertions
{
    /// <summary>A failure the way the CLI promises it: non-zero exit, the reason on one stderr line.</summary>
    public static RunResult FailsWithOneLine(this RunResult r, string expected)
    {
        Assert.True(r.Code != 0, $"{r.Command} should fail but exited 0\nstdout: {r.Out}\nstderr: {r.Err}");
        Assert.True(r.ErrLines.Length == 1, $"{r.Command}: expected one line on stderr, got:\n{r.Err}");
        Assert.Contains(expected, r.Err, StringComparison.Ordinal);
        return r;
    }
}
