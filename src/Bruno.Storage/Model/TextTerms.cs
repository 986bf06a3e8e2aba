using Bruno.Storage.Index;

namespace Bruno.Storage.Model;

/// <summary>The terms full-text search sees in a text (lower-cased, stop words dropped), for callers that rank
/// sentences or highlight matches the same way. Never throws for any string.</summary>
public static class TextTerms
{
    /// <summary>The distinct terms of <paramref name="text"/>.</summary>
    public static IReadOnlySet<string> Of(string text) => Tokenizer.QueryTerms(text ?? string.Empty).ToHashSet(StringComparer.Ordinal);
}
