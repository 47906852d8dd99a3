using System.Diagnostics;
using System.Globalization;

namespace Circular.Cli.Console;

/// <summary>A one-line progress bar on stderr, drawn only when stderr is a terminal.</summary>
public sealed class ProgressBar : IDisposable
{
    private readonly string _label;
    private readonly long _total;
    private readonly Func<long> _current;
    private readonly Timer? _timer;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private bool _done;

    private ProgressBar(string label, long total, Func<long> current)
    {
        _label = label;
        _total = Math.Max(1, total);
        _current = current;
        if (!System.Console.IsErrorRedirected) _timer = new Timer(_ => Draw(), null, 200, 200);
    }

    public static ProgressBar Start(string label, long total, Func<long> current) => new(label, total, current);

    private void Draw()
    {
        lock (_lock)
        {
            if (_done) return;
            long cur = Math.Min(_current(), _total);
            double frac = (double)cur / _total;
            double secs = Math.Max(0.001, _clock.Elapsed.TotalSeconds);
            double rate = cur / secs / 1e6;
            int width = 30;
            int filled = (int)(frac * width);
            string eta = rate > 0 && cur > 0 ? FormatTime((_total - cur) / (cur / secs)) : "--";
            string line = string.Create(CultureInfo.InvariantCulture,
                $"\r{_label} [{new string('#', filled)}{new string('.', width - filled)}] {frac * 100,5:0.0}% {rate,7:0.0} MB/s ETA {eta}  ");
            System.Console.Error.Write(line);
        }
    }

    private static string FormatTime(double seconds) =>
        seconds >= 3600 ? TimeSpan.FromSeconds(seconds).ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture)
                        : TimeSpan.FromSeconds(seconds).ToString(@"m\:ss", CultureInfo.InvariantCulture);

    public void Dispose()
    {
        _timer?.Dispose();
        lock (_lock)
        {
            if (_done) return;
            _done = true;
            if (_timer is not null) System.Console.Error.Write("\r" + new string(' ', 100) + "\r");
        }
    }
}
