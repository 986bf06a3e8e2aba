using Bruno.Cli.Commands;
using Bruno.Server.Hosting;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli;

/// <summary>
/// The <c>bruno</c> command. Exit codes: 0 success, 1 the user's error (bad arguments, settings or input, a 4xx from
/// the server), 2 a system error (server unreachable, 5xx, I/O). Errors are one line on standard error.
/// </summary>
public static class BrunoCli
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The user's error.</summary>
    public const int UserError = 1;

    /// <summary>A system error.</summary>
    public const int SystemError = 2;

    /// <summary>
    /// The commands and their subcommands, for shell completion (<c>bruno completion</c>); a test checks it against the
    /// commands the application answers to.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> Commands = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
    {
        ["login"] = [],
        ["completion"] = [],
        ["serve"] = [],
        ["console"] = ["link"],
        ["render"] = ["platform"],
        ["tenant"] = ["create", "list", "show", "suspend", "resume", "offload", "delete", "plan", "export", "import", "render", "secrets", "join", "move", "migrate"],
        ["node"] = ["list"],
        ["token"] = ["issue"],
        ["ingest"] = [],
        ["ask"] = [],
        ["document"] = ["list", "access"],
        ["eval"] = ["run", "list", "compare"],
        ["memory"] = ["export", "erase"],
        ["user"] = ["list", "role"],
        ["group"] = ["list", "create", "delete", "members", "add", "remove"],
        ["audit"] = ["verify", "list", "checkpoints"],
        ["receipt"] = ["verify"],
        ["usage"] = [],
        ["reembed"] = [],
    };

    private static readonly System.Text.Json.JsonSerializerOptions ErrorJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Runs the command line; <paramref name="console"/> replaces the terminal (tests).</summary>
    public static async Task<int> RunAsync(string[] args, IAnsiConsole? console = null, TextWriter? errors = null)
    {
        errors ??= Console.Error;
        CliConsole.Current = console ?? AnsiConsole.Console;
        var app = new CommandApp();
        app.Configure(c =>
        {
            c.SetApplicationName("bruno");
            c.UseAssemblyInformationalVersion(); // bruno --version
            c.UseStrictParsing(); // an option no command defines is an error, not ignored
            c.PropagateExceptions();
            if (console is not null)
            {
                c.ConfigureConsole(console);
            }

            c.AddCommand<LoginCommand>("login").WithDescription("Check a credential (--token or --api-key) against a server (--server) and save both as a profile.");
            c.AddCommand<CompletionCommand>("completion").WithDescription("Print a shell completion script: bruno completion bash|zsh|fish.");
            c.AddCommand<ServeCommand>("serve").WithDescription("Run the service (API, admin API, web console at /console) on the embedded default.");
            c.AddBranch("console", w =>
            {
                w.SetDescription("The web console at /console.");
                w.AddCommand<ConsoleLinkCommand>("link").WithDescription("Print a one-time sign-in link for a user of a tenant (15 minutes; --role, default member), or for an operator (--operator).");
            });
            c.AddBranch("render", r =>
            {
                r.SetDescription("Render Kubernetes manifests for GitOps.");
                r.AddCommand<RenderPlatformCommand>("platform").WithDescription("Write the shared parts: the clusters/<name>/ Flux entry point, the infrastructure layer (Helm releases, PostgreSQL clusters), the management namespace, Bruno, policies, Dockerfile.");
            });
            c.AddBranch("tenant", t =>
            {
                t.SetDescription("Create, inspect and change tenants (through a running server).");
                t.AddCommand<TenantCreateCommand>("create");
                t.AddCommand<TenantListCommand>("list");
                t.AddCommand<TenantShowCommand>("show");
                t.AddCommand<TenantTransitionCommand>("suspend").WithDescription("Refuse every request of the tenant (403).");
                t.AddCommand<TenantTransitionCommand>("resume").WithDescription("Serve a suspended or offloaded tenant again.");
                t.AddCommand<TenantTransitionCommand>("offload").WithDescription("Close the tenant's store, keeping its files; the next request reopens it.");
                t.AddCommand<TenantTransitionCommand>("delete").WithDescription("Erase the tenant: keys destroyed, files removed, a tombstone kept (--yes).");
                t.AddCommand<TenantPlanCommand>("plan").WithDescription("Change the tenant's plan.");
                t.AddCommand<TenantExportCommand>("export").WithDescription("Write the tenant's bundle (every collection and row, its settings), encrypted under a passphrase.");
                t.AddCommand<TenantImportCommand>("import").WithDescription("Create a tenant from a bundle, here or on another installation (--as to rename it).");
                t.AddCommand<TenantRenderCommand>("render").WithDescription("Write the tenant's GitOps manifests at its isolation level (tenants/T/, flux-tenants/).");
                t.AddCommand<TenantSecretsCommand>("secrets").WithDescription("Print the kubectl commands that create the Secrets its manifests name.");
                t.AddCommand<TenantJoinCommand>("join").WithDescription("Print how a Kamaji tenant's cluster gets worker nodes (kubeadm join steps, or Cluster API's machines).");
                t.AddCommand<TenantMoveCommand>("move").WithDescription("Move the tenant to another store node while it is in use (gateways over store nodes).");
                t.AddCommand<TenantMigrateCommand>("migrate").WithDescription("Move the tenant to another isolation level and installation: render, export, import, verify (--confirm --yes, --abort).");
            });
            c.AddBranch("node", n =>
            {
                n.SetDescription("Store nodes (gateways over store nodes: docs/scaling.md).");
                n.AddCommand<NodeListCommand>("list").WithDescription("The store nodes, their load and whether they report.");
            });
            c.AddBranch("token", t =>
            {
                t.SetDescription("Issue tokens signed with this data root's key.");
                t.AddCommand<TokenIssueCommand>("issue");
            });
            c.AddCommand<IngestCommand>("ingest").WithDescription("Upload a folder of .md, .txt, .html and .pdf files into a tenant.");
            c.AddCommand<AskCommand>("ask").WithDescription("Ask a tenant's knowledge a question.");
            c.AddBranch("document", d =>
            {
                d.SetDescription("A tenant's documents and who may read them.");
                d.AddCommand<DocumentListCommand>("list").WithDescription("The tenant's documents, with who may read each.");
                d.AddCommand<DocumentAccessCommand>("access").WithDescription("Change who may read a document (tenant, or group:NAME and user:ID entries), without re-embedding it.");
            });
            c.AddBranch("eval", e =>
            {
                e.SetDescription("Measure answer quality on a tenant's knowledge (cases in JSON Lines; as the tenant's admin, through a running server).");
                e.AddCommand<EvalRunCommand>("run").WithDescription("Run cases; print the figures; exit 1 when one is below its --min-* threshold.");
                e.AddCommand<EvalListCommand>("list").WithDescription("The tenant's kept runs, newest first.");
                e.AddCommand<EvalCompareCommand>("compare").WithDescription("Two kept runs side by side.");
            });
            c.AddBranch("memory", m =>
            {
                m.SetDescription("Export or erase one user's memory (as the tenant's admin, through a running server).");
                m.AddCommand<MemoryExportCommand>("export");
                m.AddCommand<MemoryEraseCommand>("erase");
            });
            c.AddBranch("user", u =>
            {
                u.SetDescription("Users' roles in a tenant (as the operator, through a running server).");
                u.AddCommand<UserListCommand>("list").WithDescription("The tenant's role assignments.");
                u.AddCommand<UserRoleCommand>("role").WithDescription("Give a user a role (owner, admin, editor, member, auditor), or take it away (--remove).");
            });
            c.AddBranch("group", g =>
            {
                g.SetDescription("A tenant's groups and their members (as the tenant's admin, through a running server).");
                g.AddCommand<GroupListCommand>("list").WithDescription("The tenant's groups.");
                g.AddCommand<GroupCommand>("create").WithDescription("Create a group.");
                g.AddCommand<GroupCommand>("delete").WithDescription("Delete a group and its memberships.");
                g.AddCommand<GroupCommand>("members").WithDescription("A group's members and its admins.");
                g.AddCommand<GroupMemberCommand>("add").WithDescription("Add a member (--admin: an admin of the group).");
                g.AddCommand<GroupMemberCommand>("remove").WithDescription("Remove a member.");
            });
            c.AddBranch("audit", a =>
            {
                a.SetDescription("Read and verify a tenant's tamper-evident audit log.");
                a.AddCommand<AuditVerifyCommand>("verify").WithDescription("Check the chain and the signed checkpoints; exit 1 and say where when not intact.");
                a.AddCommand<AuditListCommand>("list").WithDescription("One page of entries, with filters.");
                a.AddCommand<AuditCheckpointsCommand>("checkpoints").WithDescription("The signed checkpoints (--out FILE to keep them elsewhere).");
            });
            c.AddBranch("receipt", r =>
            {
                r.SetDescription("Check signed erasure receipts.");
                r.AddCommand<ReceiptVerifyCommand>("verify").WithDescription("Check a receipt's signature; exit 1 when it does not hold.");
            });
            c.AddCommand<UsageCommand>("usage").WithDescription("A tenant's usage and cost for a month (a table; --json, --csv).");
            c.AddCommand<ReembedCommand>("reembed").WithDescription("Re-embed a tenant's documents with the configured embedding model.");
        });

        try
        {
            return await app.RunAsync(args);
        }
        catch (Exception e)
        {
            var (code, message) = Classify(e);
            // under --json the error is JSON too (on standard error, one line), for scripts that parse what they get
            await errors.WriteLineAsync(args.Contains("--json", StringComparer.Ordinal)
                ? System.Text.Json.JsonSerializer.Serialize(new { error = new { message, exit_code = code } }, ErrorJson)
                : $"error: {message}");
            return code;
        }
    }

    internal static (int Code, string Message) Classify(Exception e) => e switch
    {
        CommandParseException or CommandRuntimeException => (UserError, e.Message),
        CliException c => (c.Code, c.Message),
        ConfigurationException => (UserError, e.Message.ReplaceLineEndings("; ")),
        // the same checks when the host starts (ValidateOnStart); the failures are already joined with "; "
        Microsoft.Extensions.Options.OptionsValidationException => (UserError, e.Message.ReplaceLineEndings("; ")),
        InvalidIdentifierException or ArgumentException or FormatException or Kubernetes.RenderException => (UserError, e.Message),
        HttpRequestException => (SystemError, "cannot reach the server; start it with `bruno serve` or pass --server"),
        TenantLockedException => (SystemError, "the data folder is in use by another Bruno process"),
        Core.Tenants.CatalogUnavailableException => (SystemError, e.Message),
        IOException or UnauthorizedAccessException or StorageException => (SystemError, e.Message),
        _ => (SystemError, "unexpected failure: " + e.GetType().Name),
    };
}

/// <summary>The console commands write to (the terminal, or a test's recorder).</summary>
internal static class CliConsole
{
    private static readonly AsyncLocal<IAnsiConsole?> Ambient = new();

    public static IAnsiConsole Current
    {
        get => Ambient.Value ?? AnsiConsole.Console;
        set => Ambient.Value = value;
    }

    public static Output.ICliOutput For(CliSettings settings) =>
        settings.Json ? new Output.JsonOutput(Current) : new Output.HumanOutput(Current);
}

/// <summary>A failure with its exit code and a message for the user.</summary>
public sealed class CliException(int code, string message) : Exception(message)
{
    /// <summary>The exit code.</summary>
    public int Code { get; } = code;
}
