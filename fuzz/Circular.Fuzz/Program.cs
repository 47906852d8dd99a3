using Circular.Fuzz;

// circular-fuzz TARGET                 run under AFL++ (fuzz/run.sh starts it so), one input per fork-server round
// circular-fuzz replay TARGET PATH...  run files or directories of inputs through TARGET once each (CI)
// circular-fuzz list                   print the targets
if (args is ["list"])
{
    foreach (var name in Targets.All.Keys) Console.WriteLine(name);
    return 0;
}
if (args is ["replay", var replayTarget, .. var paths] && Targets.All.TryGetValue(replayTarget, out var replay))
{
    int n = 0;
    foreach (var file in paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]).Order(StringComparer.Ordinal))
    {
        try { replay(File.ReadAllBytes(file)); }
        catch (Exception e)
        {
            Console.Error.WriteLine($"{replayTarget}: {file}: {e.GetType().Name}: {e.Message}");
            if (e.InnerException is { } inner) Console.Error.WriteLine($"  caused by {inner}");
            return 1;
        }
        n++;
    }
    Console.WriteLine($"{replayTarget}: {n} inputs, no crash");
    return 0;
}
if (args is [var target] && Targets.All.TryGetValue(target, out var run))
{
    SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
    {
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        run(ms.ToArray());
    });
    return 0;
}
Console.Error.WriteLine($"usage: circular-fuzz TARGET | replay TARGET PATH... | list   (targets: {string.Join(", ", Targets.All.Keys)})");
return 2;
