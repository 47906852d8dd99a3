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
        catch (UsageException e) { return Fail(e.Message, Usage); }
        catch (CircularException e) { return Fail(e.Message, Failed); }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { return Fail("interrupted", Interrupted); }
        catch (UnauthorizedAccessException e) { return Fail(e.Message, Failed); }
        catch (IOException e) { return Fail(e.Message, Failed); }
    }

    public static int Fail(string message, int code)
    {
        System.Console.Error.WriteLine($"circular: {message}");
        return code;
    }
}
