using System.Text.Json;
using Spectre.Console;

namespace Bruno.Cli.Output;

/// <summary>Where a command's result goes: text for people or JSON for scripts.</summary>
internal interface ICliOutput
{
    /// <summary>Writes <paramref name="result"/>; <paramref name="human"/> renders it as text.</summary>
    void Write(object result, Action<IAnsiConsole> human);
}

/// <summary>Text on the terminal.</summary>
internal sealed class HumanOutput(IAnsiConsole console) : ICliOutput
{
    public void Write(object result, Action<IAnsiConsole> human) => human(console);
}

/// <summary>One JSON document on standard output (snake_case).</summary>
internal sealed class JsonOutput(IAnsiConsole console) : ICliOutput
{
    public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public void Write(object result, Action<IAnsiConsole> human) => console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(result, Options));
}
