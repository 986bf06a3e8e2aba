using Microsoft.Extensions.Options;

namespace Bruno.Core.Identity;

/// <summary>Checks <see cref="AuthOptions"/> (section <c>Bruno:Auth</c>).</summary>
public sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    // the signature algorithms an authority may use (asymmetric only)
    private static readonly string[] AllowedAlgorithms = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"];

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, AuthOptions options) => OptionsValidation.Result(Errors(options));

    /// <summary>One message per invalid value, naming its key and range (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(AuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Enabled && (!Uri.TryCreate(options.Authority, UriKind.Absolute, out var uri) || (uri.Scheme != "https" && (options.RequireHttpsMetadata || uri.Scheme != "http"))))
        {
            yield return "Bruno:Auth:Authority must be an https address (http only with RequireHttpsMetadata false).";
        }

        if (options.Algorithms.Length == 0 || options.Algorithms.Any(a => !AllowedAlgorithms.Contains(a, StringComparer.Ordinal)))
        {
            yield return "Bruno:Auth:Algorithms must be some of " + string.Join(", ", AllowedAlgorithms) + " (asymmetric only).";
        }

        if (options.KeyRefreshMinutes is < 1 or > 1_440)
        {
            yield return "Bruno:Auth:KeyRefreshMinutes must be between 1 and 1440.";
        }

        var console = options.Console;
        if (!string.IsNullOrWhiteSpace(console.ClientId))
        {
            if (!options.Enabled)
            {
                yield return "Bruno:Auth:Console:ClientId needs Bruno:Auth:Authority (the console signs in through it).";
            }

            if (console.ClientId.Length > 200 || console.ClientId.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
            {
                yield return "Bruno:Auth:Console:ClientId must be 1-200 characters without spaces.";
            }

            if (!console.Scopes.Contains("openid", StringComparer.Ordinal) || console.Scopes.Any(s => string.IsNullOrEmpty(s) || s.Length > 100 || s.Any(c => c <= ' ' || c is '"' or '\\' || c > '~')))
            {
                yield return "Bruno:Auth:Console:Scopes must include openid, each scope 1-100 printable characters without spaces, quotes or backslashes.";
            }

            if (string.IsNullOrWhiteSpace(console.DisplayName) || console.DisplayName.Length > 60 || console.DisplayName.Any(char.IsControl))
            {
                yield return "Bruno:Auth:Console:DisplayName must be 1-60 characters.";
            }
        }

        foreach (var (name, value) in new[] { ("GroupsClaim", options.GroupsClaim), ("RolesClaim", options.RolesClaim) })
        {
            if (string.IsNullOrWhiteSpace(value) || value.Length > 100 || value.Any(char.IsControl) || value is TokenService.TenantClaim or "sub" or TokenService.ScopeClaim or "scp")
            {
                yield return $"Bruno:Auth:{name} must name a claim of 1-100 characters other than tenant_id, sub, scope and scp.";
            }
        }
    }
}
