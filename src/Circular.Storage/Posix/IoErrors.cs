namespace Circular.Storage.Posix;

/// <summary>Messages for I/O failures that say what was being done, not which temporary file the runtime was writing.</summary>
public static class IoErrors
{
    /// <summary>
    /// The system's reason alone ("No space left on device"): the runtime appends " : 'PATH'" naming the file it was
    /// using, which for an atomic write is a temporary name the user never asked about.
    /// </summary>
    public static string Reason(IOException e)
    {
        string m = e.Message;
        int at = m.IndexOf(" : '", StringComparison.Ordinal);
        return (at > 0 ? m[..at] : m).Trim();
    }

    /// <summary>An IOException saying what was written where, and why it failed.</summary>
    public static IOException Writing(string what, string where, IOException e) =>
        new($"cannot write {what} to {where}: {Reason(e)}", e);
}
