namespace Circular.Fuse.Server;

/// <summary>
/// Reader threads are dedicated OS threads, so they may block on the image's async calls. The completed
/// fast path allocates nothing; only an operation that really goes asynchronous pays for a Task.
/// </summary>
internal static class Blocking
{
    public static void Wait(ValueTask task)
    {
        if (task.IsCompletedSuccessfully)
        {
            task.GetAwaiter().GetResult();
            return;
        }
        task.AsTask().GetAwaiter().GetResult();
    }

    public static T Wait<T>(ValueTask<T> task) =>
        task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();
}
