using Circular.Fuse.Tests.Support;

namespace Circular.Fuse.Tests;

/// <summary>
/// The test runner ignores this entry point. The watchdog tests start this assembly as a separate process
/// (`dotnet exec Circular.Fuse.Tests.dll mount-helper MOUNTPOINT [signals]`) so they can kill the process
/// that owns a mount; it prints "MOUNTED" once the file system is ready and then waits to be killed.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length < 2 || args[0] != "mount-helper")
        {
            Console.Error.WriteLine("usage: mount-helper MOUNTPOINT [signals]");
            return 2;
        }
        var mount = await FuseMount.MountAsync(FakeCatalog.WithRandomVersions(), args[1], new FuseMountOptions { Log = new TestLog(Console.Error) }, CancellationToken.None);
        using var signals = args.Length > 2 && args[2] == "signals" ? mount.UnmountOnSignals() : null;
        Console.WriteLine("MOUNTED");
        Console.Out.Flush();
        await mount.Completion;
        Console.WriteLine("UNMOUNTED");
        return 0;
    }
}
