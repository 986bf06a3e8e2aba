using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Bruno.Cli.Output;

namespace Bruno.Cli.Commands;

/// <summary>Calls a running server with a bearer token; a problem response becomes a <see cref="CliException"/>.</summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    public ApiClient(Uri server, string token)
    {
        _http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromMinutes(5) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct) =>
        SendAsync(method, path, body is null ? null : JsonContent.Create(body, options: JsonOutput.Options), ct);

    public async Task<JsonElement> SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };

        using var response = await _http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (response.IsSuccessStatusCode)
        {
            return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        }

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

        throw new CliException((int)response.StatusCode >= 500 ? BrunoCli.SystemError : BrunoCli.UserError, detail);
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
