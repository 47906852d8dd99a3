namespace Circular.Server.Tests.Support;

/// <summary>Upper bounds on every wait in this suite, so a hang fails a test instead of stalling the run.</summary>
public static class Limits
{
    /// <summary>Any single read or open in a test.</summary>
    public static readonly TimeSpan Operation = TimeSpan.FromSeconds(60);
}
