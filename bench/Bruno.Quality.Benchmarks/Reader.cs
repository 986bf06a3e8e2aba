using Bruno.Core.Documents;
using Bruno.Storage.Identity;

namespace Bruno.Quality.Benchmarks;

/// <summary>Who the benchmark acts as: a tenant admin (its corpus is open to the whole tenant, so any reader sees all of it).</summary>
internal static class Reader
{
    public static Viewer Admin { get; } = Viewer.Of(UserId.Parse("bench")) with { Rights = DocumentRights.Manage };
}
