using System.Text;

namespace Bruno.Server.Features.WebConsole;

/// <summary>Small text helpers the pages and the page script agree on.</summary>
internal static class ConsoleText
{
    /// <summary>
    /// The anchor of a section in a document's page: <c>s-</c> and the section's letters and digits, lower case, runs of
    /// anything else made one '-' (chat.js makes the same from a citation).
    /// </summary>
    public static string Anchor(string section)
    {
        var slug = new StringBuilder("s-");
        var dash = false;
        foreach (var c in (section ?? string.Empty).ToLowerInvariant())
        {
            if (c is (>= 'a' and <= 'z') or (>= '0' and <= '9'))
            {
                if (dash && slug.Length > 2)
                {
                    slug.Append('-');
                }

                slug.Append(c);
                dash = false;
            }
            else
            {
                dash = true;
            }
        }

        return slug.ToString();
    }

    /// <summary>
    /// How a citation reads: the section's heading path (which starts with the document's title when the title is its
    /// first heading), else the title and the section, and the page of a PDF (chat.js reads them the same way).
    /// </summary>
    public static string Label(string title, string section, int? page) =>
        (section.Length == 0 ? title : section.StartsWith(title + " › ", StringComparison.Ordinal) || section == title ? section : title + " › " + section)
        + (page is { } p ? $", page {p}" : string.Empty);

    /// <summary>Where a citation opens: the document's page, at the cited section.</summary>
    public static string Link(string documentId, string section) =>
        $"/console/documents/{Uri.EscapeDataString(documentId)}" + (string.IsNullOrEmpty(section) ? string.Empty : "#" + Anchor(section));

    /// <summary>
    /// Answers the page with 404 and the page itself as the body. A status set while a component renders makes the
    /// renderer leave the body to the status-code pages (the API's problem JSON), so it is set as the response starts.
    /// </summary>
    public static void NotFound(HttpContext http) => http.Response.OnStarting(() =>
    {
        http.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    });
}
