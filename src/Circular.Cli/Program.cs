using System.CommandLine;
using Circular.Cli.Commands;

namespace Circular.Cli;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand(
            "Circular: bootable disk images as a content-addressed archive of static files, " +
            "read on demand over HTTP, exposed as NBD block devices and FUSE files.")
        {
            InitCommand.Create(),
            PushCommand.Create(),
            ImagesCommand.Create(),
            LogCommand.Create(),
            CatCommand.Create(),
            DiffCommand.Create(),
            TagCommand.Create(),
            RollbackCommand.Create(),
            VerifyCommand.Create(),
            GcCommand.Create(),
            ServeCommand.Create(),
            ImportCommand.Create(),
            // more commands register here
        };
        return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
    }
}
