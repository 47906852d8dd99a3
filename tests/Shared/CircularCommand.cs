namespace Circular.Tests.Shared;

/// <summary>
/// The `circular` the CLI-driven tests run (linked into each test project that starts it): $CIRCULAR when set
/// (scripts/test.sh points it at the native build users get), else `dotnet circular.dll` from beside the test assembly.
/// </summary>
public static class CircularCommand
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "circular.dll");

    private static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } p && File.Exists(p) ? p : "dotnet";

    /// <summary>Program and leading arguments, before the command's own.</summary>
    public static string[] Argv => Environment.GetEnvironmentVariable("CIRCULAR") is { Length: > 0 } bin ? [bin] : [DotnetHost, Dll];
}
