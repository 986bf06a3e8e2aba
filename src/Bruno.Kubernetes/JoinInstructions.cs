using Bruno.Contracts;
using Bruno.Kubernetes.Resources;

namespace Bruno.Kubernetes;

/// <summary>
/// How a Kamaji tenant cluster gets its worker nodes, as shell lines with comments for the operator: in kubeadm mode the
/// commands that fetch the tenant's admin kubeconfig, check what <c>kubeadm join</c> reads (Kamaji uploads the
/// <c>kubeadm-config</c> and <c>kubelet-config</c> ConfigMaps and publishes <c>cluster-info</c> for bootstrap tokens), mint
/// a short-lived bootstrap token with its join command, and run it on each node; in cluster-api mode where to watch the
/// machines Cluster API makes. The join command holds a token: it is written to a file readable by the operator only and
/// sent to the node on standard input, never put on the operator's command line. Throws <see cref="RenderException"/> for
/// a tenant that is not a Kamaji tenant or for options that do not validate.
/// </summary>
public static class JoinInstructions
{
    /// <summary>The lines for <paramref name="tenant"/>.</summary>
    public static IReadOnlyList<string> For(TenantDeployment tenant, KubernetesOptions options)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate().FirstOrDefault() is { } problem)
        {
            throw new RenderException(problem);
        }

        if (tenant.Isolation != "kamaji" || !Names.IsDns1123Label(tenant.Id))
        {
            throw new RenderException($"Tenant '{tenant.Id}' is not a Kamaji tenant ({tenant.Isolation}): only a Kamaji tenant cluster has worker nodes to join.");
        }

        var k = options.Kamaji;
        var cp = Names.ControlPlane(tenant.Id);
        var ns = Names.ControlPlaneNamespace(tenant.Id);
        if (k.Workers.Mode == "cluster-api")
        {
            return
            [
                $"# {tenant.Id}: Cluster API makes the worker nodes (MachineDeployment {ClusterApi.Workers}, {k.Workers.Replicas} machines of {k.Workers.ClusterApi.MachineTemplateKind}); nothing to join by hand.",
                $"kubectl -n {ns} get cluster,kamajicontrolplane,machinedeployment,machines",
                $"clusterctl describe cluster {cp} -n {ns}",
            ];
        }

        var kubeconfig = $"{tenant.Id}.kubeconfig";
        var join = $"{tenant.Id}.join";
        var endpoint = Kamaji.KnownEndpoint(cp, k) is { } known
            ? $"{known.Host}:{known.Port}"
            : $"the LoadBalancer address Kamaji reports: kubectl -n {ns} get tenantcontrolplane {cp} -o jsonpath='{{.status.controlPlaneEndpoint}}'";
        return
        [
            $"# {tenant.Id}: worker nodes join the Kamaji control plane {cp} ({ns}) with kubeadm.",
            $"# The endpoint: {endpoint}.",
            $"# Each node needs a container runtime (containerd), kubelet and kubeadm {k.KubernetesVersion} (no newer than the control plane), swap off,",
            $"# and TCP out to the endpoint's host on ports {Kamaji.ApiServerPort} (API server) and {Kamaji.KonnectivityPort} (konnectivity, for kubectl logs and exec).",
            "umask 077",
            $"kubectl -n {ns} get secret {Kamaji.KubeconfigSecret(cp)} -o jsonpath='{{.data.admin\\.conf}}' | base64 -d > {kubeconfig}",
            "# what kubeadm join reads, written by Kamaji once the control plane is ready:",
            $"kubectl --kubeconfig {kubeconfig} -n kube-public get configmap cluster-info",
            $"kubectl --kubeconfig {kubeconfig} -n kube-system get configmap kubeadm-config kubelet-config",
            "# a bootstrap token valid for one hour and the join command that holds it:",
            $"kubeadm token create --kubeconfig {kubeconfig} --ttl 1h --print-join-command > {join}",
            "# on each node, as root (the command travels on standard input):",
            $"ssh root@\"$NODE\" sh < {join}",
            "# the nodes turn Ready once a CNI plugin runs in the tenant cluster (Bruno renders none):",
            $"kubectl --kubeconfig {kubeconfig} get nodes -o wide",
            $"rm -f {join} {kubeconfig}",
        ];
    }
}
