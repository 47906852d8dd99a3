using Circular.Core.Archive;
using Circular.Core.Errors;

namespace Circular.Core.Tests;

public class ImageNameTests
{
    [Theory]
    [InlineData("os")]
    [InlineData("debian-12.5_amd64")]
    [InlineData("A")]
    public void Validate_goodName_passes(string name)
    {
        ImageName.Validate(name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("..")]
    [InlineData("a..b")]
    [InlineData(".hidden")]
    [InlineData("-x")]
    [InlineData("tab\there")]
    [InlineData("nl\n")]
    [InlineData("esc\u001b")]
    [InlineData("sp ace")]
    [InlineData("ünï")]
    [InlineData("a@b")]
    public void Validate_badName_throwsUsage(string name)
    {
        Assert.Throws<UsageException>(() => ImageName.Validate(name));
    }

    [Fact]
    public void Validate_tooLong_throwsUsage()
    {
        ImageName.Validate(new string('a', 100));
        Assert.Throws<UsageException>(() => ImageName.Validate(new string('a', 101)));
    }

    [Theory]
    [InlineData("12")]
    [InlineData("latest")]
    [InlineData("a/b")]
    public void ValidateTag_numberOrReservedOrBad_throwsUsage(string tag)
    {
        Assert.Throws<UsageException>(() => ImageName.ValidateTag(tag));
    }

    [Fact]
    public void ImageSpecParse_withSelector_splitsNameAndSelector()
    {
        var s = ImageSpec.Parse("os@stable");
        Assert.Equal("os", s.Name);
        Assert.Equal("stable", s.Selector);
        Assert.Null(s.Number);
        Assert.Equal(7, ImageSpec.Parse("os@7").Number);
        Assert.Null(ImageSpec.Parse("os").Selector);
    }

    [Theory]
    [InlineData("os@")]
    [InlineData("../x@1")]
    [InlineData("@1")]
    public void ImageSpecParse_malformed_throwsUsage(string text)
    {
        Assert.Throws<UsageException>(() => ImageSpec.Parse(text));
    }
}
