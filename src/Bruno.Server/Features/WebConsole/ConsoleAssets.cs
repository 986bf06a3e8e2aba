using System.Security.Cryptography;

namespace Bruno.Server.Features.WebConsole;

/// <summary>
/// The console's own scripts and styles, embedded in this assembly and served by Bruno (no CDN; works offline), with a
/// strong ETag and a week's caching (pages name them with their hash, so a new build is fetched at once).
/// </summary>
internal sealed class ConsoleAssets
{
    private readonly Dictionary<string, (byte[] Bytes, string Type, string ETag)> _files = new(StringComparer.Ordinal);

    public ConsoleAssets()
    {
        var assembly = typeof(ConsoleAssets).Assembly;
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("console/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var type = Path.GetExtension(resource) switch
            {
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            };
            _files[resource["console/".Length..]] = (bytes, type, "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"");
        }
    }

    /// <summary>The file's URL with its version, for pages.</summary>
    public string Url(string name) => _files.TryGetValue(name, out var f) ? $"/console/assets/{name}?v={f.ETag.Trim('"')}" : $"/console/assets/{name}";

    /// <summary>The file, 304 when the client has it, 404 when there is no such file.</summary>
    public IResult Serve(string name, HttpContext http)
    {
        if (!_files.TryGetValue(name, out var file))
        {
            return Results.NotFound();
        }

        http.Response.Headers.CacheControl = "public, max-age=604800";
        http.Response.Headers.ETag = file.ETag;
        return http.Request.Headers.IfNoneMatch.ToString() == file.ETag ? Results.StatusCode(StatusCodes.Status304NotModified) : Results.Bytes(file.Bytes, file.Type);
    }
}
