namespace Circular.Cli.Tests.Support;

/// <summary>One moto_server and one public bucket shared by a test class (each test writes under its own prefix).</summary>
public sealed class S3Fixture : IAsyncLifetime
{
    public const string Bucket = "circular-tests";
    private MotoServer? _moto;

    public MotoServer Moto => _moto ?? throw new InvalidOperationException("not started");
    public IReadOnlyDictionary<string, string> Env => Moto.Environment;

    /// <summary>The s3:// location of a test's own prefix.</summary>
    public string Location(string prefix) => $"s3://{Bucket}/{prefix}";

    /// <summary>The same prefix as a public bucket's plain HTTP URL.</summary>
    public string HttpUrl(string prefix) => Moto.HttpUrl(Bucket, prefix);

    public Task<RunResult> RunAsync(params string[] args) => CircularCli.RunAsync(Env, args);

    public async Task InitializeAsync()
    {
        _moto = await MotoServer.StartAsync();
        await _moto.CreatePublicBucketAsync(Bucket);
    }

    public async Task DisposeAsync()
    {
        if (_moto is not null) await _moto.DisposeAsync();
    }
}
