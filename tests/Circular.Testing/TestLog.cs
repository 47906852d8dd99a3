using System.Text;
using Microsoft.Extensions.Logging;

namespace Circular.Testing;

/// <summary>
/// A logger that keeps every line (level prefix and message) for assertions, optionally echoing to a writer; what the
/// libraries' logging seam is given in tests.
/// </summary>
public sealed class TestLog(TextWriter? echo = null) : ILogger
{
    private readonly StringBuilder _text = new();

    public string Text { get { lock (_text) return _text.ToString(); } }

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string line = (logLevel >= LogLevel.Warning ? logLevel.ToString().ToLowerInvariant() + ": " : "") + formatter(state, exception);
        lock (_text)
        {
            _text.AppendLine(line);
            echo?.WriteLine(line);
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public override string ToString() => Text;
}
