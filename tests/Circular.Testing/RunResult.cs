namespace Circular.Testing;

/// <summary>What a finished process (an external tool, or `circular`) printed and returned.</summary>
public sealed record RunResult(string Command, int Code, string Out, string Err)
{
    public string[] ErrLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Fails the test, with everything the process printed, unless it exited 0.</summary>
    public RunResult Ok()
    {
        if (Code != 0) throw new Xunit.Sdk.XunitException(ToString());
        return this;
    }

    /// <summary>
    /// Fails the test unless qemu-io's every `read -P` found its pattern: qemu-io reports a mismatch on stdout and
    /// still exits 0, so <see cref="Ok"/> alone proves nothing about the bytes.
    /// </summary>
    public RunResult PatternsMatch()
    {
        Ok();
        if ((Out + Err).Contains("Pattern verification failed", StringComparison.Ordinal)) throw new Xunit.Sdk.XunitException("wrong bytes: " + ToString());
        return this;
    }

    public override string ToString() => $"{Command} exited {Code}\nstdout: {Out}\nstderr: {Err}";
}
