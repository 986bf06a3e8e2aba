using System.ComponentModel;
using System.Text;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>
/// <c>bruno completion bash|zsh|fish</c>: a completion script for the shell, from <see cref="BrunoCli.Commands"/> (a test
/// checks that table against the commands the application answers to). Install with, e.g.,
/// <c>bruno completion bash &gt; /etc/bash_completion.d/bruno</c> or <c>bruno completion fish &gt; ~/.config/fish/completions/bruno.fish</c>.
/// </summary>
internal sealed class CompletionCommand : Command<CompletionCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<SHELL>")]
        [Description("bash, zsh or fish.")]
        public string Shell { get; init; } = string.Empty;
    }

    /// <summary>The options every command takes.</summary>
    private static readonly string[] CommonOptions = ["--data", "--server", "--token", "--api-key", "--profile", "--json", "--help"];

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var script = settings.Shell switch
        {
            "bash" => Bash(),
            "zsh" => "autoload -U +X bashcompinit && bashcompinit\n" + Bash(),
            "fish" => Fish(),
            _ => throw new CliException(BrunoCli.UserError, $"completion is for bash, zsh or fish, not '{settings.Shell}'"),
        };
        CliConsole.Current.Profile.Out.Writer.Write(script);
        return BrunoCli.Ok;
    }

    internal static string Bash()
    {
        var b = new StringBuilder();
        b.Append("# bash completion for bruno (bruno completion bash)\n_bruno() {\n");
        b.Append("  local cur=\"${COMP_WORDS[COMP_CWORD]}\"\n");
        b.Append("  if [ \"$COMP_CWORD\" -eq 1 ]; then\n");
        b.Append($"    COMPREPLY=($(compgen -W \"{string.Join(' ', BrunoCli.Commands.Keys)} --help --version\" -- \"$cur\"))\n    return\n  fi\n");
        b.Append("  case \"${COMP_WORDS[1]}\" in\n");
        foreach (var (name, subcommands) in BrunoCli.Commands.Where(c => c.Value.Count > 0))
        {
            b.Append($"    {name}) if [ \"$COMP_CWORD\" -eq 2 ]; then COMPREPLY=($(compgen -W \"{string.Join(' ', subcommands)}\" -- \"$cur\")); return; fi ;;\n");
        }

        b.Append("    completion) if [ \"$COMP_CWORD\" -eq 2 ]; then COMPREPLY=($(compgen -W \"bash zsh fish\" -- \"$cur\")); return; fi ;;\n");
        b.Append("  esac\n");
        b.Append($"  COMPREPLY=($(compgen -W \"{string.Join(' ', CommonOptions)}\" -- \"$cur\"))\n}}\ncomplete -F _bruno bruno\n");
        return b.ToString();
    }

    internal static string Fish()
    {
        var b = new StringBuilder("# fish completion for bruno (bruno completion fish)\ncomplete -c bruno -f\n");
        foreach (var name in BrunoCli.Commands.Keys)
        {
            b.Append($"complete -c bruno -n __fish_use_subcommand -a {name}\n");
        }

        foreach (var (name, subcommands) in BrunoCli.Commands.Where(c => c.Value.Count > 0))
        {
            b.Append($"complete -c bruno -n '__fish_seen_subcommand_from {name}; and not __fish_seen_subcommand_from {string.Join(' ', subcommands)}' -a '{string.Join(' ', subcommands)}'\n");
        }

        b.Append("complete -c bruno -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n");
        foreach (var option in CommonOptions)
        {
            b.Append($"complete -c bruno -l {option[2..]}{(option is "--json" or "--help" ? string.Empty : " -r")}\n");
        }

        b.Append("complete -c bruno -l version\n");
        return b.ToString();
    }
}
