using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

public sealed class IdentifierTests
{
    public static TheoryData<string> HostileTenantIds => new()
    {
        "", "../x", "..", ".", "%2e%2e", "%2e%2e%2fb", "/etc/passwd", "/abs/path", "a/../b", "b/../a", "a\0b", "A", "Acme",
        "-acme", "acme-", "acme_corp", "acme.corp", "ac me", "acme\n", new string('a', 64), "tenant\u2019s", "ｔｅｎａｎｔ", "..%2fB", "C:\\x",
    };

    [Theory]
    [MemberData(nameof(HostileTenantIds))]
    public void TenantId_Parse_RejectsEverythingButDnsLabels(string value)
    {
        var e = Assert.Throws<InvalidIdentifierException>(() => TenantId.Parse(value));
        Assert.Equal("tenant id", e.What);
        Assert.DoesNotContain("\0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TenantId_Parse_RejectsNull() => Assert.Throws<InvalidIdentifierException>(() => TenantId.Parse(null));

    [Theory]
    [InlineData("a")]
    [InlineData("acme")]
    [InlineData("acme-corp-2")]
    [InlineData("0")]
    [InlineData("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc")]
    public void TenantId_Parse_AcceptsDnsLabels(string value) => Assert.Equal(value, TenantId.Parse(value).Value);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("../u")]
    [InlineData(".hidden")]
    [InlineData("u/1")]
    [InlineData("u\\1")]
    [InlineData("u\01")]
    [InlineData("' OR '1'='1")]
    [InlineData("\") or true or (\"")]
    [InlineData("u%")]
    [InlineData("u 1")]
    [InlineData("ü")]
    public void UserId_Parse_RejectsUnsafeValues(string? value) => Assert.Throws<InvalidIdentifierException>(() => UserId.Parse(value));

    [Fact]
    public void UserId_Parse_RejectsOverLongAndAcceptsCommonSubjects()
    {
        Assert.Throws<InvalidIdentifierException>(() => UserId.Parse(new string('u', 129)));
        foreach (var ok in new[] { "alice@example.com", "auth0|123456", "3f1c2a9e-8a57-4a55-9b8e-1d2c3b4a5f60", "svc:ingest+1", new string('u', 128) })
        {
            Assert.Equal(ok, UserId.Parse(ok).Value);
        }
    }

    [Fact]
    public void RowIdsAndNames_RejectControlCharactersAndBadShapes()
    {
        Assert.Throws<InvalidIdentifierException>(() => IdentifierRules.ValidateRowId("a\0b"));
        Assert.Throws<InvalidIdentifierException>(() => IdentifierRules.ValidateRowId(new string('x', 257)));
        Assert.Throws<InvalidIdentifierException>(() => IdentifierRules.ValidateRowId(""));
        Assert.Equal("doc-1#3 ../'; DROP TABLE rows;--", IdentifierRules.ValidateRowId("doc-1#3 ../'; DROP TABLE rows;--"));
        Assert.Throws<InvalidIdentifierException>(() => IdentifierRules.ValidateName("Bad", "collection name"));
        Assert.Throws<InvalidIdentifierException>(() => new EqualsCondition("author' = 'alice' OR '1'='1' --", "x"));
    }

    [Fact]
    public void InvalidId_ErrorMessage_DoesNotEchoAHugeValue()
    {
        var huge = new string('a', 10_000);
        var e = Assert.Throws<InvalidIdentifierException>(() => TenantId.Parse(huge));
        Assert.True(e.Message.Length < 300, e.Message);
    }

    [Fact]
    public async Task Engine_WithRejectedId_TouchesNothingOnDisk()
    {
        await using var store = new TempStore();
        var before = Directory.EnumerateFileSystemEntries(store.Root, "*", SearchOption.AllDirectories).ToList();
        foreach (var bad in new[] { "../x", "%2e%2e", "/tmp/evil", "a\0b" })
        {
            Assert.Throws<InvalidIdentifierException>(() => store.Engine.Tenant(TenantId.Parse(bad)));
        }

        Assert.Throws<InvalidOperationException>(() => store.Engine.Tenant(default));
        Assert.Equal(before, Directory.EnumerateFileSystemEntries(store.Root, "*", SearchOption.AllDirectories).ToList());
    }
}
