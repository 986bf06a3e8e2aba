using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using Bruno.Storage.Identity;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>
/// <c>bruno usage --tenant T [--month yyyy-MM]</c>: the tenant's usage and cost for the month as a table in the terminal
/// (the JSON report with <c>--json</c>, the CSV with <c>--csv</c>).
/// </summary>
internal sealed class UsageCommand : AsyncCommand<UsageCommand.Settings>
{
    public sealed class Settings : CliSettings
    {
        [CommandOption("--tenant <TENANT>")]
        [Description("The tenant.")]
        public string Tenant { get; init; } = string.Empty;

        [CommandOption("--month <MONTH>")]
        [Description("The month, yyyy-MM (default: this month, UTC).")]
        public string? Month { get; init; }

        [CommandOption("--csv")]
        [Description("Write the hourly CSV instead of the table.")]
        public bool Csv { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var tenant = TenantId.Parse(settings.Tenant);
        var month = settings.Month ?? DateTime.UtcNow.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        if (!DateTime.TryParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            throw new CliException(BrunoCli.UserError, "--month must be written yyyy-MM, e.g. 2026-11");
        }

        if (settings.Csv)
        {
            var token = settings.PlatformCredential("cli", TimeSpan.FromMinutes(5));
            using var api = new ApiClient(settings.ServerUri(), token);
            CliConsole.Current.Profile.Out.Writer.Write(await api.GetTextAsync($"/admin/v1/tenants/{tenant.Value}/usage?month={month}&format=csv", cancellationToken));
            return BrunoCli.Ok;
        }

        var report = await Admin.CallAsync(settings, HttpMethod.Get, $"/admin/v1/tenants/{tenant.Value}/usage?month={month}", null, cancellationToken);
        CliConsole.For(settings).Write(report, c => Render(c, report));
        return BrunoCli.Ok;
    }

    private static void Render(IAnsiConsole console, JsonElement report)
    {
        var usage = report.GetProperty("usage");
        var cost = report.GetProperty("cost");
        var table = new Table().Title($"{report.GetProperty("tenant").GetString()} — {report.GetProperty("month").GetString()} (plan {report.GetProperty("plan").GetString()}, {report.GetProperty("isolation").GetString()})");
        table.AddColumn("measure").AddColumn(new TableColumn("amount").RightAligned());
        string N(string name) => usage.GetProperty(name).GetInt64().ToString("N0", CultureInfo.InvariantCulture);
        string D(string name) => "$" + cost.GetProperty(name).GetDouble().ToString("0.00", CultureInfo.InvariantCulture);
        table.AddRow("requests", N("requests"));
        table.AddRow("LLM prompt tokens", N("llm_prompt_tokens"));
        table.AddRow("LLM completion tokens", N("llm_completion_tokens"));
        table.AddRow("embedding tokens", N("embedding_tokens"));
        table.AddRow("storage (GiB-hours)", (usage.GetProperty("storage_byte_hours").GetInt64() / (double)(1L << 30)).ToString("0.###", CultureInfo.InvariantCulture));
        table.AddRow("CPU (seconds)", (usage.GetProperty("cpu_milliseconds").GetInt64() / 1000.0).ToString("0.#", CultureInfo.InvariantCulture));
        table.AddRow("hours billed", report.GetProperty("hours_active").GetDouble().ToString("0.##", CultureInfo.InvariantCulture) + " of " + report.GetProperty("hours_in_month").GetDouble().ToString("0", CultureInfo.InvariantCulture));
        table.AddEmptyRow();
        table.AddRow("cost: isolation level", D("base"));
        table.AddRow("cost: compute", D("compute"));
        table.AddRow("cost: storage", D("storage"));
        table.AddRow("cost: LLM", D("llm"));
        table.AddRow("cost: embeddings", D("embeddings"));
        table.AddRow("[bold]total so far[/]", "[bold]" + D("total") + "[/]");
        table.AddRow("projected month", D("projected_month"));
        console.Write(table);
    }
}
