using Microsoft.Extensions.Options;

namespace Bruno.Core;

/// <summary>What the options validators share: their messages as an options result.</summary>
internal static class OptionsValidation
{
    /// <summary>Success when there is no message, else a failure holding every message in order.</summary>
    public static ValidateOptionsResult Result(IEnumerable<string> errors)
    {
        var list = errors.ToList();
        return list.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(list);
    }
}
