namespace Bruno.Kubernetes;

/// <summary>
/// Writes rendered files under an output folder without leaving anything half-written: the files go to a temporary
/// folder beside the output first; then each top-level entry they belong to (a tenant's folder, a Flux entry) replaces
/// the old one by renames. Throws <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> when the
/// folder cannot be written (the output is then as it was, apart from a stale temporary folder removed at the next write).
/// </summary>
public static class ManifestWriter
{
    /// <summary>Writes <paramref name="files"/> under <paramref name="outputFolder"/>, replacing the folders and files they render.</summary>
    public static void Write(string outputFolder, IReadOnlyList<RenderedFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var output = Path.GetFullPath(outputFolder);
        Directory.CreateDirectory(output);
        foreach (var stale in Directory.GetDirectories(output, ".bruno-render-*"))
        {
            Directory.Delete(stale, recursive: true);
        }

        var staging = Path.Combine(output, ".bruno-render-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach (var file in files)
            {
                if (file.Path.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(file.Path))
                {
                    throw new ArgumentException($"A rendered path must stay inside the output folder: {file.Path}", nameof(files));
                }

                var path = Path.Combine(staging, file.Path);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, file.Content);
            }

            // what is replaced whole: tenants/<id>/, platform/ and infrastructure/ as folders; the Flux entries (and the
            // kustomization of an operator's secrets/ folder) as files, so that bootstrap's clusters/<name>/flux-system/
            // and the operator's encrypted files stay
            foreach (var unit in files.Select(f => Unit(f.Path)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                var from = Path.Combine(staging, unit);
                var to = Path.Combine(output, unit);
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                if (Directory.Exists(from))
                {
                    var old = to + ".old-" + Guid.NewGuid().ToString("N");
                    if (Directory.Exists(to))
                    {
                        Directory.Move(to, old);
                    }

                    Directory.Move(from, to);
                    if (Directory.Exists(old))
                    {
                        Directory.Delete(old, recursive: true);
                    }
                }
                else
                {
                    File.Move(from, to, overwrite: true);
                }
            }
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    private static string Unit(string path)
    {
        var parts = path.Split('/');
        return parts[0] switch
        {
            "tenants" when parts.Length > 2 => $"tenants/{parts[1]}",
            "platform" => "platform",
            "infrastructure" => "infrastructure",
            _ => path,
        };
    }
}
