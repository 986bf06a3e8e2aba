using Bruno.Core.Documents;
using Bruno.Storage.Identity;

namespace Bruno.Core.Tests;

/// <summary>The viewers the tests act as.</summary>
internal static class Readers
{
    /// <summary>A tenant admin: manages every document (reads only what the access lists let them).</summary>
    public static Viewer Admin { get; } = Viewer.Of(UserId.Parse("tester")) with { Rights = DocumentRights.Manage };
}
