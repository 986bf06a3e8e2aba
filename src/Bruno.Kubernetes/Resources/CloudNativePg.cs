using System.Text.Json.Nodes;
using Bruno.Contracts;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// A Kamaji tenant's own PostgreSQL server: a CloudNativePG <c>Cluster</c> (postgresql.cnpg.io/v1) in the control
/// plane's namespace, and the Kamaji DataStore that points at it. CloudNativePG generates the Secrets the DataStore
/// reads: <c>&lt;cluster&gt;-superuser</c> (keys <c>username</c>, <c>password</c>; only with
/// <c>enableSuperuserAccess</c>) and <c>&lt;cluster&gt;-ca</c> (key <c>ca.crt</c>, the authority of the server's
/// certificate); its read-write Service is <c>&lt;cluster&gt;-rw</c> and its pods carry <c>cnpg.io/cluster</c>.
/// Kamaji creates a database and a role per control plane and hands the database to that role, which takes the
/// superuser (a role with CREATEDB and CREATEROLE cannot give a database away to a role it is not a member of).
/// </summary>
internal static class CloudNativePg
{
    public const string ApiVersion = "postgresql.cnpg.io/v1";

    /// <summary>The label CloudNativePG puts on every pod of a cluster, with the cluster's name.</summary>
    public const string ClusterLabel = "cnpg.io/cluster";

    /// <summary>PostgreSQL's port.</summary>
    public const int PostgresPort = 5432;

    /// <summary>The instance manager's port, which the operator (and the other instances) call for status.</summary>
    public const int InstanceManagerPort = 8000;

    public static string SuperuserSecret(string cluster) => cluster + "-superuser";

    public static string CaSecret(string cluster) => cluster + "-ca";

    public static JsonObject Cluster(string name, string ns, Dictionary<string, string> labels, DataStorePlan plan, string? storageClass)
    {
        var resources = new JsonObject
        {
            ["cpu"] = Quantities.Cores(plan.CpuCores).ToString(),
            ["memory"] = Quantities.GiB(plan.MemoryGiB).ToString(),
        };
        var storage = new JsonObject { ["size"] = Quantities.GiB(plan.StorageGiB).ToString() };
        if (!string.IsNullOrEmpty(storageClass))
        {
            storage["storageClass"] = storageClass;
        }

        return new JsonObject
        {
            ["apiVersion"] = ApiVersion,
            ["kind"] = "Cluster",
            ["metadata"] = Kamaji.Meta(name, ns, labels),
            ["spec"] = new JsonObject
            {
                ["instances"] = plan.Instances,
                ["enableSuperuserAccess"] = true, // Kamaji's user: it creates a database and a role per control plane
                ["primaryUpdateStrategy"] = "unsupervised",
                ["resources"] = new JsonObject { ["requests"] = resources, ["limits"] = resources.DeepClone() },
                ["storage"] = storage,
            },
        };
    }

    /// <summary>The DataStore <paramref name="name"/> on the read-write Service of <paramref name="cluster"/>, with its generated Secrets.</summary>
    public static JsonObject DataStore(string name, Dictionary<string, string> labels, string cluster, string ns) => new()
    {
        ["apiVersion"] = Kamaji.ApiVersion,
        ["kind"] = "DataStore",
        ["metadata"] = Kamaji.Meta(name, null, labels),
        ["spec"] = new JsonObject
        {
            ["driver"] = "PostgreSQL",
            ["endpoints"] = new JsonArray(Endpoint(cluster, ns)),
            ["basicAuth"] = new JsonObject
            {
                ["username"] = Reference(SuperuserSecret(cluster), ns, "username"),
                ["password"] = Reference(SuperuserSecret(cluster), ns, "password"),
            },
            ["tlsConfig"] = new JsonObject
            {
                ["certificateAuthority"] = new JsonObject { ["certificate"] = Reference(CaSecret(cluster), ns, "ca.crt") },
            },
        },
    };

    /// <summary>The read-write Service's address, <c>host:port</c> as a DataStore names it.</summary>
    public static string Endpoint(string cluster, string ns) => $"{cluster}-rw.{ns}.svc:{PostgresPort}";

    private static JsonObject Reference(string name, string ns, string key) =>
        new() { ["secretReference"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["keyPath"] = key } };
}
