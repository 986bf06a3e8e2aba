using System.ComponentModel;
using System.Text.Json;
using Bruno.Core.Documents;
using Bruno.Core.Identity;
using Bruno.Storage.Identity;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>Settings of commands that act inside one tenant as a user.</summary>
internal class TenantUserSettings : CliSettings
{
    [CommandOption("--tenant <TENANT>")]
    [Description("Tenant to act in.")]
    public string? Tenant { get; init; }

    [CommandOption("--user <USER>")]
    [Description("User to act as (default cli).")]
    public string User { get; init; } = "cli";

    public override ValidationResult Validate() => Tenant is null ? ValidationResult.Error("--tenant is required.") : ValidationResult.Success();

    /// <summary>A client holding a short-lived token of the tenant's user with <paramref name="scope"/>.</summary>
    internal ApiClient Client(string scope) =>
        new(ServerUri(), UserCredential(TenantId.Parse(Tenant), UserId.Parse(User), [scope], TimeSpan.FromMinutes(30)));
}

/// <summary><c>bruno ingest PATH --tenant T</c>: uploads every .md, .markdown, .txt, .html, .htm and .pdf file under PATH.</summary>
internal sealed class IngestCommand : AsyncCommand<IngestCommand.Settings>
{
    public sealed class Settings : TenantUserSettings
    {
        [CommandArgument(0, "<PATH>")]
        [Description("A file or a folder (searched recursively).")]
        public string Path { get; init; } = string.Empty;
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var files = Files(settings.Path);
        if (files.Count == 0)
        {
            throw new CliException(BrunoCli.UserError, $"no .md, .markdown, .txt, .html, .htm or .pdf files at '{settings.Path}'");
        }

        using var api = settings.Client(Scopes.Ingest);
        var results = new List<object>();
        var refused = new List<string>();
        async Task UploadAsync(Action<string>? progress)
        {
            foreach (var file in files)
            {
                var id = DocumentId(settings.Path, file);
                var bytes = await File.ReadAllBytesAsync(file, cancellationToken);
                HttpContent Form()
                {
                    var form = new MultipartFormDataContent();
                    var part = new ByteArrayContent(bytes);
                    part.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(TypeOf(file));
                    form.Add(part, "file", System.IO.Path.GetFileName(file));
                    form.Add(new StringContent(id), "id"); // no title: the server reads it from the file (HTML title, first heading, PDF metadata)
                    return form;
                }

                try
                {
                    results.Add(await api.SendRetryingAsync(HttpMethod.Post, "/api/v1/documents", Form, attempts: 4, cancellationToken));
                }
                catch (CliException e) when (e.Code == BrunoCli.UserError)
                {
                    // one refused file (too large, unreadable, over a limit) does not stop the others
                    refused.Add($"{System.IO.Path.GetRelativePath(Directory.Exists(settings.Path) ? settings.Path : System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file))!, file)}: {e.Message}");
                }

                progress?.Invoke(id);
            }
        }

        var console = CliConsole.Current;
        if (settings.Json)
        {
            await UploadAsync(null);
        }
        else
        {
            await console.Progress().StartAsync(async p =>
            {
                var task = p.AddTask("uploading", maxValue: files.Count);
                await UploadAsync(_ => task.Increment(1));
            });
        }

        var chunks = results.Cast<JsonElement>().Sum(d => d.GetProperty("chunks").GetInt32());
        CliConsole.For(settings).Write(new { documents = results.Count, chunks, items = results, refused }, c =>
        {
            c.WriteLine($"{results.Count} documents, {chunks} chunks stored in tenant {settings.Tenant}");
            foreach (var r in refused)
            {
                c.WriteLine($"refused: {r}");
            }
        });
        if (refused.Count > 0)
        {
            throw new CliException(BrunoCli.UserError, $"{refused.Count} of {files.Count} files were refused (listed above)");
        }

        return BrunoCli.Ok;
    }

    private static readonly string[] Kinds = [".md", ".markdown", ".txt", ".html", ".htm", ".pdf"];

    private static string TypeOf(string file) => System.IO.Path.GetExtension(file).ToLowerInvariant() switch
    {
        ".md" or ".markdown" => "text/markdown",
        ".html" or ".htm" => "text/html",
        ".pdf" => "application/pdf",
        _ => "text/plain",
    };

    private static List<string> Files(string path)
    {
        if (File.Exists(path))
        {
            return [path];
        }

        return Directory.Exists(path)
            ? [.. Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Where(f => Kinds.Contains(System.IO.Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal)]
            : throw new CliException(BrunoCli.UserError, $"'{path}' does not exist");
    }

    /// <summary>A document id from the file's path under the root: safe characters only, at most 128.</summary>
    internal static string DocumentId(string root, string file)
    {
        var relative = File.Exists(root) ? System.IO.Path.GetFileName(file) : System.IO.Path.GetRelativePath(root, file);
        var chars = relative.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '.' or '_' or '-' ? ch : '_').ToArray();
        var id = new string(chars).TrimStart('.', '_', '-');
        id = id.Length > 128 ? id[^128..].TrimStart('.', '_', '-') : id;
        return DocumentService.ValidateId(id.Length == 0 ? "document" : id);
    }
}

/// <summary><c>bruno ask "question" --tenant T</c>.</summary>
internal sealed class AskCommand : AsyncCommand<AskCommand.Settings>
{
    public sealed class Settings : TenantUserSettings
    {
        [CommandArgument(0, "<QUESTION>")]
        public string Question { get; init; } = string.Empty;
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var api = settings.Client(Scopes.Query);
        var answer = await api.SendAsync(HttpMethod.Post, "/api/v1/query", new { query = settings.Question }, cancellationToken);
        CliConsole.For(settings).Write(answer, c =>
        {
            c.WriteLine(answer.GetProperty("answer").GetString() ?? string.Empty);
            c.WriteLine();
            foreach (var s in answer.GetProperty("sources").EnumerateArray())
            {
                c.WriteLine($"[{s.GetProperty("n").GetInt32()}] {Where(s)}");
            }

            if (answer.TryGetProperty("suggestions", out var suggestions) && suggestions.GetArrayLength() > 0)
            {
                c.WriteLine("nearest passages (not an answer):");
                foreach (var s in suggestions.EnumerateArray())
                {
                    c.WriteLine($"  - {Where(s)}");
                }
            }

            c.WriteLine($"model {answer.GetProperty("model").GetString()}, confidence {answer.GetProperty("confidence").GetDouble():0.00}");
        });
        return BrunoCli.Ok;
    }

    private static string Where(JsonElement s) =>
        $"{s.GetProperty("title").GetString()} — {s.GetProperty("section").GetString()}{(s.TryGetProperty("page", out var p) && p.ValueKind == JsonValueKind.Number ? $", page {p.GetInt32()}" : string.Empty)} ({s.GetProperty("document_id").GetString()})";
}
