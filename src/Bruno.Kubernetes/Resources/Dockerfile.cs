namespace Bruno.Kubernetes.Resources;

/// <summary>The Dockerfile of the server image, built from the repository's root.</summary>
internal static class Dockerfile
{
    public static string Text(int port) => $"""
        # Bruno's server image. Build from the repository root:
        #   docker build -f platform/image/Dockerfile -t registry.example.com/bruno/bruno:0.1.0 /path/to/bruno
        # Two stages: the SDK publishes the `bruno` command; the runtime stage is the ASP.NET image on Ubuntu, running as
        # a non-root user with a read-only root file system in the rendered Deployment. Not the chiseled variant: ONNX
        # Runtime (the local embedding model) needs libstdc++, which chiseled images leave out.
        FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
        WORKDIR /src
        COPY . .
        RUN dotnet publish src/Bruno.Cli/Bruno.Cli.csproj -c Release -o /app --no-self-contained

        FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble
        WORKDIR /app
        COPY --from=build /app .
        USER 10001:10001
        ENV BRUNO_DATAROOT=/data
        EXPOSE {port}
        ENTRYPOINT ["/app/bruno"]
        CMD ["serve", "--urls", "http://0.0.0.0:{port}"]

        """;
}
