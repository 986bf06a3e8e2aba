using System.Globalization;
using k8s.Models;

namespace Bruno.Kubernetes.Resources;

/// <summary>Kubernetes quantities from cores, GiB and MiB, written the shortest exact way.</summary>
internal static class Quantities
{
    public static ResourceQuantity Cores(double cores) =>
        new(Math.Abs(cores - Math.Round(cores)) < 1e-9 ? ((long)Math.Round(cores)).ToString(CultureInfo.InvariantCulture) : ((long)Math.Round(cores * 1000)).ToString(CultureInfo.InvariantCulture) + "m");

    public static ResourceQuantity GiB(double gib) =>
        Math.Abs(gib - Math.Round(gib)) < 1e-9 ? new(((long)Math.Round(gib)).ToString(CultureInfo.InvariantCulture) + "Gi") : MiB((long)Math.Round(gib * 1024));

    public static ResourceQuantity MiB(long mib) => new(mib.ToString(CultureInfo.InvariantCulture) + "Mi");

    public static ResourceQuantity Count(int n) => new(n.ToString(CultureInfo.InvariantCulture));
}
