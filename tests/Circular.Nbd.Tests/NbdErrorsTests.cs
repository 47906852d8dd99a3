using Circular.Core.Errors;
using Circular.Imaging.Images;

namespace Circular.Nbd.Tests;

public sealed class NbdErrorsTests
{
    public static TheoryData<Exception, NbdError> Cases => new()
    {
        { new ReadOnlyImageException("ro"), NbdError.Perm },
        { new ArgumentOutOfRangeException("offset"), NbdError.Inval },
        { new OperationCanceledException(), NbdError.Shutdown },
        { new TaskCanceledException(), NbdError.Shutdown },
        { new NotSupportedException(), NbdError.NotSup },
        { new IOException("disk"), NbdError.Io },
        { new NotFoundException("chunk"), NbdError.Io },
        { new InvalidOperationException(), NbdError.Io },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void FromException_maps_to_wire_errno(Exception exception, NbdError expected) =>
        Assert.Equal(expected, NbdErrors.FromException(exception));

    [Fact]
    public void Wire_values_are_linux_errno_numbers()
    {
        Assert.Equal(1u, (uint)NbdError.Perm);
        Assert.Equal(5u, (uint)NbdError.Io);
        Assert.Equal(22u, (uint)NbdError.Inval);
        Assert.Equal(28u, (uint)NbdError.NoSpc);
        Assert.Equal(95u, (uint)NbdError.NotSup);
        Assert.Equal(108u, (uint)NbdError.Shutdown);
    }
}
