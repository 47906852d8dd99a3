using Microsoft.Extensions.Logging;

namespace Circular.Cli.Console;

/// <summary>
/// The command line's end of the libraries' logging seam: one line per message on stderr, "circular: " first and
/// "warning: " or "error: " for those levels. Debug messages show with CIRCULAR_DEBUG=1, and every line then ends with
/// the process's CPU time so far (user+system).
/// </summary>
public sealed class ConsoleLog : ILogger
{
    public static ConsoleLog Instance { get; } = new();

    private static readonly bool s_debug = Environment.GetEnvironmentVariable("CIRCULAR_DEBUG") is "1";
    private readonly Lock _lock = new();

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information || (s_debug && logLevel != LogLevel.None);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        string level = logLevel switch { LogLevel.Warning => "warning: ", >= LogLevel.Error => "error: ", _ => "" };
        string line = $"circular: {level}{formatter(state, exception)}";
        if (s_debug)
        {
            // Where a slow start spends this process's own CPU (children such as modprobe not counted).
            var cpu = Environment.CpuUsage;
            line += $" [cpu {cpu.UserTime.TotalSeconds:0.00}+{cpu.PrivilegedTime.TotalSeconds:0.00} s]";
        }
        lock (_lock)
        {
            System.Console.Error.WriteLine(line);
            System.Console.Error.Flush();
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
}
