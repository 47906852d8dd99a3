using System.CommandLine;
using Circular.Core.Errors;

namespace Circular.Cli.Commands;

/// <summary>Runs a command body and turns failures into one line on stderr and an exit code.</summary>
public static class CommandAction
{
    public const int Ok = 0, Failed = 1, Usage = 2, Interrupted = 130;

    public static void Set(Command command, Func<ParseResult, CancellationToken, Task<int>> body) =>
        command.SetAction(async (pr, ct) => await RunAsync(pr, ct, body).ConfigureAwait(false));

    private static async Task<int> RunAsync(ParseResult pr, CancellationToken ct, Func<ParseResult, CancellationToken, Task<int>> body)
    {
        try
        {
            return await body(pr, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { return Fail("interrupted", Interrupted); }
        catch (Exception e) when (Failures.Classify(e) is not (ErrorKind.Failed or ErrorKind.Cancelled or ErrorKind.OutOfMemory) || e is CircularException)
        {
            // The CLI side of the one failure classification; anything unclassified is a bug and keeps its stack trace.
            // CIRCULAR_DEBUG=1 keeps it for every failure, for bug reports.
            if (Environment.GetEnvironmentVariable("CIRCULAR_DEBUG") == "1") System.Console.Error.WriteLine(e.ToString());
            return Fail(e.Message, Failures.Classify(e) == ErrorKind.Usage ? Usage : Failed);
        }
    }

    public static int Fail(string message, int code)
    {
        System.Console.Error.WriteLine($"circular: {message}");
        return code;
    }
}
