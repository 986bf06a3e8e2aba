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

    /// <summary>A client holding a short-lived token of the tenant's user with <paramref name="scopes"/>.</summary>
    internal ApiClient Client(params string[] scopes) =>
        new(ServerUri(), UserCredential(TenantId.Parse(Tenant), UserId.Parse(User), scopes, TimeSpan.FromMinutes(30)));
}

/// <summary><c>bruno ingest PATH --tenant T</c>: uploads every .md, .markdown, .txt, .html, .htm and .pdf file under PATH.</summary>
internal sealed class IngestCommand : AsyncCommand<IngestCommand.Settings>
{
    public sealed class Settings : TenantUserSettings
    {
        [CommandArgument(0, "<PATH>")]
        [Description("A file or a folder (searched recursively).")]
        public string Path { get; init; } = string.Empty;

        [CommandOption("--access <ENTRIES>")]
        [Description("Who may read the documents: 'tenant' (the default for new ones), or group:NAME and user:ID entries separated by commas.")]
        public string? Access { get; init; }

        public override ValidationResult Validate()
        {
            if (base.Validate() is { Successful: false } failed)
            {
                return failed;
            }

            try
            {
                _ = Entries(Access);
                return ValidationResult.Success();
            }
            catch (DocumentRejectedException e)
            {
                return ValidationResult.Error($"--access: {e.Message}");
            }
        }

        /// <summary>The access entries of <paramref name="text"/> (null when none were given), checked as the server checks them.</summary>
        internal static IReadOnlyList<string>? Entries(string? text)
        {
            if (text is null)
            {
                return null;
            }

            var entries = text.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries);
            _ = DocumentAccess.Parse(entries);
            return entries;
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var files = Files(settings.Path);
        if (files.Count == 0)
        {
            throw new CliException(BrunoCli.UserError, $"no .md, .markdown, .txt, .html, .htm or .pdf files at '{settings.Path}'");
        }

        // the operator's CLI gives any access list as the tenant's admin; without one it needs only the ingest scope
        using var api = settings.Access is null ? settings.Client(Scopes.Ingest) : settings.Client(Scopes.Ingest, Scopes.Admin);
        var access = Settings.Entries(settings.Access);
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
                    if (access is not null)
                    {
                        form.Add(new StringContent(string.Join(',', access)), "access");
                    }

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

/// <summary><c>bruno document list --tenant T</c>: the tenant's documents with who may read each (as the tenant's admin).</summary>
internal sealed class DocumentListCommand : AsyncCommand<DocumentListCommand.Settings>
{
    public sealed class Settings : TenantUserSettings
    {
        [CommandOption("--after <ID>")]
        [Description("Start after this document id.")]
        public string? After { get; init; }

        [CommandOption("--limit <N>")]
        [Description("Documents per page (1-200, default 50).")]
        public int Limit { get; init; } = 50;

        public override ValidationResult Validate() =>
            base.Validate() is { Successful: false } failed ? failed
            : Limit is < 1 or > 200 ? ValidationResult.Error("--limit is 1-200.")
            : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var api = settings.Client(Scopes.Query, Scopes.Admin);
        var query = $"?limit={settings.Limit}" + (settings.After is null ? string.Empty : "&after=" + Uri.EscapeDataString(DocumentService.ValidateId(settings.After)));
        var page = await api.SendAsync(HttpMethod.Get, "/api/v1/documents" + query, (object?)null, cancellationToken);
        CliConsole.For(settings).Write(page, c =>
        {
            foreach (var d in page.GetProperty("items").EnumerateArray())
            {
                c.WriteLine($"{d.GetProperty("id").GetString()}\t{d.GetProperty("title").GetString()}\t{d.GetProperty("chunks").GetInt32()} chunks\t{string.Join(',', d.GetProperty("access").EnumerateArray().Select(a => a.GetString()))}");
            }

            if (page.GetProperty("next").GetString() is { } next)
            {
                c.WriteLine($"more: --after {next}");
            }
        });
        return BrunoCli.Ok;
    }
}

/// <summary><c>bruno document access ID ENTRIES --tenant T</c>: changes who may read a document, without re-embedding it.</summary>
internal sealed class DocumentAccessCommand : AsyncCommand<DocumentAccessCommand.Settings>
{
    public sealed class Settings : TenantUserSettings
    {
        [CommandArgument(0, "<ID>")]
        [Description("The document.")]
        public string Id { get; init; } = string.Empty;

        [CommandArgument(1, "<ENTRIES>")]
        [Description("'tenant', or group:NAME and user:ID entries separated by commas.")]
        public string Entries { get; init; } = string.Empty;

        public override ValidationResult Validate()
        {
            if (base.Validate() is { Successful: false } failed)
            {
                return failed;
            }

            try
            {
                DocumentService.ValidateId(Id);
                _ = IngestCommand.Settings.Entries(Entries);
                return ValidationResult.Success();
            }
            catch (DocumentRejectedException e)
            {
                return ValidationResult.Error(e.Message);
            }
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var api = settings.Client(Scopes.Ingest, Scopes.Admin);
        var entries = IngestCommand.Settings.Entries(settings.Entries)!;
        var document = await api.SendAsync(HttpMethod.Put, $"/api/v1/documents/{Uri.EscapeDataString(settings.Id)}/access", new { access = entries }, cancellationToken);
        CliConsole.For(settings).Write(document, c =>
            c.WriteLine($"{document.GetProperty("id").GetString()}: readable by {string.Join(',', document.GetProperty("access").EnumerateArray().Select(a => a.GetString()))}"));
        return BrunoCli.Ok;
    }
}
