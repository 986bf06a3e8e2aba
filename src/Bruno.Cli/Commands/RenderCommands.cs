using System.ComponentModel;
using System.Text.Json;
using Bruno.Core;
using Bruno.Kubernetes;
using Bruno.Storage.Identity;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>Settings of the render commands: the output folder.</summary>
internal class RenderSettings : CliSettings
{
    [CommandOption("--out <DIR>")]
    [Description("Folder to write into (the root of the GitOps repository's path for Bruno).")]
    public string Out { get; init; } = string.Empty;

    /// <summary>The output folder, required.</summary>
    internal string OutputFolder() =>
        string.IsNullOrWhiteSpace(Out) ? throw new CliException(BrunoCli.UserError, "--out DIR is required") : Out;
}

/// <summary>
/// <c>bruno render platform --out DIR</c>: the shared parts, rendered from this machine's settings;
/// <c>bruno render platform --secrets</c>: the shell lines that create the Secrets they name, no value on a command line
/// (nothing is written).
/// </summary>
internal sealed class RenderPlatformCommand : Command<RenderPlatformCommand.Settings>
{
    public sealed class Settings : RenderSettings
    {
        [CommandOption("--secrets")]
        [Description("Print the shell lines that create the Secrets the platform's manifests name (values through files of a private temporary folder, never on a command line), instead of writing them.")]
        public bool Secrets { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Secrets)
        {
            var options = settings.KubernetesOptions();
            _ = new ManifestRenderer(options, settings.Options().PlanResources()); // the same settings checks as a render
            var lines = SecretInstructions.ForPlatform(options);
            CliConsole.For(settings).Write(lines, c =>
            {
                foreach (var line in lines)
                {
                    c.Profile.Out.Writer.WriteLine(line); // verbatim: no markup, no wrapping
                }
            });
            return BrunoCli.Ok;
        }

        var folder = settings.OutputFolder();
        var files = new ManifestRenderer(settings.KubernetesOptions(), settings.Options().PlanResources()).RenderPlatform();
        ManifestWriter.Write(folder, files);
        CliConsole.For(settings).Write(files.Select(f => f.Path).ToList(), c =>
        {
            var options = settings.KubernetesOptions();
            c.WriteLine($"{files.Count} files written under {Path.GetFullPath(folder)} (clusters/{options.Flux.Cluster}/, infrastructure/, platform/)");
            c.WriteLine($"bootstrap Flux with --path={options.Flux.Path.TrimEnd('/')}/clusters/{options.Flux.Cluster}; the Secrets the manifests name are not rendered: bruno render platform --secrets");
        });
        return BrunoCli.Ok;
    }
}

/// <summary><c>bruno tenant render T --out DIR</c>: the tenant's folder and Flux entry, rendered by the server (admin API).</summary>
internal sealed class TenantRenderCommand : AsyncCommand<TenantRenderCommand.Settings>
{
    public sealed class Settings : RenderSettings
    {
        [CommandArgument(0, "<TENANT>")]
        [Description("Tenant id.")]
        public string Tenant { get; init; } = string.Empty;
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var id = TenantId.Parse(settings.Tenant);
        var folder = settings.OutputFolder();
        var manifests = await Manifests.FetchAsync(settings, id, cancellationToken);
        ManifestWriter.Write(folder, manifests.Files);
        CliConsole.For(settings).Write(manifests.Files.Select(f => f.Path).ToList(), c =>
        {
            c.WriteLine($"{manifests.Files.Count} files written under {Path.GetFullPath(folder)} (tenants/{id.Value}/, flux-tenants/) at the {manifests.Isolation} level");
            c.WriteLine($"the Secrets they name are not rendered: bruno tenant secrets {id.Value}");
        });
        return BrunoCli.Ok;
    }
}

/// <summary><c>bruno tenant secrets T</c>: the kubectl commands that create the Secrets the tenant's manifests name.</summary>
internal sealed class TenantSecretsCommand : AsyncCommand<TenantArgumentSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, TenantArgumentSettings settings, CancellationToken cancellationToken)
    {
        var id = TenantId.Parse(settings.Tenant);
        var manifests = await Manifests.FetchAsync(settings, id, cancellationToken);
        CliConsole.For(settings).Write(manifests.Secrets, c =>
        {
            foreach (var line in manifests.Secrets)
            {
                c.Profile.Out.Writer.WriteLine(line); // verbatim: no markup, no wrapping
            }
        });
        return BrunoCli.Ok;
    }
}

/// <summary><c>bruno tenant join T</c>: how a Kamaji tenant's cluster gets worker nodes (the kubeadm join steps, or where to watch Cluster API's machines).</summary>
internal sealed class TenantJoinCommand : AsyncCommand<TenantArgumentSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, TenantArgumentSettings settings, CancellationToken cancellationToken)
    {
        var id = TenantId.Parse(settings.Tenant);
        var manifests = await Manifests.FetchAsync(settings, id, cancellationToken);
        if (manifests.Join is not { Count: > 0 } join)
        {
            throw new CliException(BrunoCli.UserError, $"tenant {id.Value} runs at the {manifests.Isolation} level: only a Kamaji tenant's cluster has worker nodes to join");
        }

        CliConsole.For(settings).Write(join, c =>
        {
            foreach (var line in join)
            {
                c.Profile.Out.Writer.WriteLine(line); // verbatim: no markup, no wrapping
            }
        });
        return BrunoCli.Ok;
    }
}

internal static class Manifests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public sealed record Response(string Tenant, string Isolation, List<RenderedFile> Files, List<string> Secrets, List<string>? Join);

    public static async Task<Response> FetchAsync(CliSettings settings, TenantId id, CancellationToken ct)
    {
        var body = await Admin.CallAsync(settings, HttpMethod.Get, $"/admin/v1/tenants/{id.Value}/manifests", null, ct);
        return body.Deserialize<Response>(Json) ?? throw new CliException(BrunoCli.UserError, "the server's answer had no manifests");
    }
}
