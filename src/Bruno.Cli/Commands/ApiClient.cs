using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Bruno.Cli.Output;

namespace Bruno.Cli.Commands;

/// <summary>Calls a running server with a bearer token; a problem response becomes a <see cref="CliException"/>.</summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    /// <summary>A client of <paramref name="server"/>; requests time out after <paramref name="timeout"/> (default five minutes).</summary>
    public ApiClient(Uri server, string token, TimeSpan? timeout = null)
    {
        _http = new HttpClient { BaseAddress = server, Timeout = timeout ?? TimeSpan.FromMinutes(5) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct) =>
        SendAsync(method, path, body is null ? null : JsonContent.Create(body, options: JsonOutput.Options), ct);

    public async Task<JsonElement> SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct, IReadOnlyDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.Add(name, value);
        }

        using var response = await _http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (response.IsSuccessStatusCode)
        {
            return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        }

        throw Failure(response, text);
    }

    /// <summary>
    /// Sends a request made by <paramref name="content"/> (called again for each attempt); a 429 or 503 answer with
    /// Retry-After is retried after that delay (at most 30 s), up to <paramref name="attempts"/> times in all.
    /// </summary>
    public async Task<JsonElement> SendRetryingAsync(HttpMethod method, string path, Func<HttpContent> content, int attempts, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, path) { Content = content() };
            using var response = await _http.SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            if (response.IsSuccessStatusCode)
            {
                return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
            }

            if (attempt < attempts && (int)response.StatusCode is 429 or 503 && response.Headers.RetryAfter?.Delta is { } delay)
            {
                await Task.Delay(delay < TimeSpan.FromSeconds(30) ? delay : TimeSpan.FromSeconds(30), ct);
                continue;
            }

            throw Failure(response, text);
        }
    }

    /// <summary>
    /// Sends <paramref name="body"/> as JSON and copies the answer's body into <paramref name="destination"/> as it
    /// arrives; returns the bytes copied and their SHA-256 (hex).
    /// </summary>
    public async Task<(long Bytes, string Sha256)> DownloadAsync(HttpMethod method, string path, object body, Stream destination, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body, options: JsonOutput.Options) };
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw Failure(response, await response.Content.ReadAsStringAsync(ct));
        }

        await using var source = await response.Content.ReadAsStreamAsync(ct);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81_920];
        long total = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, ct)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            await destination.WriteAsync(buffer.AsMemory(0, read), ct);
            total += read;
        }

        return (total, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static CliException Failure(HttpResponseMessage response, string text)
    {
        var detail = $"the server answered {(int)response.StatusCode}";
        try
        {
            using var problem = JsonDocument.Parse(text);
            if (problem.RootElement.TryGetProperty("detail", out var d) && d.GetString() is { Length: > 0 } s)
            {
                detail = s;
            }
        }
        catch (JsonException)
        {
            // not a problem document: keep the status
        }

        return new CliException((int)response.StatusCode >= 500 ? BrunoCli.SystemError : BrunoCli.UserError, detail);
    }

    /// <summary>GETs a text resource (CSV); a problem response becomes a <see cref="CliException"/>.</summary>
    public async Task<string> GetTextAsync(string path, CancellationToken ct)
    {
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative), ct);
        if (!response.IsSuccessStatusCode)
        {
            await SendAsync(HttpMethod.Get, path, (HttpContent?)null, ct); // the same call again turns the problem into the CLI's error
        }

        return await response.Content.ReadAsStringAsync(ct);
    }

    public void Dispose() => _http.Dispose();
}
