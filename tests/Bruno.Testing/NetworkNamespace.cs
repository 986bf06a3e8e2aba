using System.Security.Cryptography;

namespace Bruno.Testing;

/// <summary>
/// A second host on this machine for tests of what crosses a network: a Linux network namespace made by the test,
/// joined to the machine by a veth pair on a /24 of 10.251.0.0/16 of its own. The machine's end has two addresses:
/// <see cref="Services"/>, where the test binds the servers of the machine, which also call the namespace from it, and
/// <see cref="Machine"/>, which the test's own clients bind to; the namespace has <see cref="Inside"/>.
/// <see cref="CutAsync"/> drops, as the namespace sends them, every packet to <see cref="Services"/> (a traffic
/// control filter, so no sender is told): both ways of every conversation between the namespace and the machine's
/// servers stop, as in a partition, while the test's clients still reach the namespace. Needs root and iproute2.
/// </summary>
public sealed class NetworkNamespace : IAsyncDisposable
{
    private readonly string _name;
    private readonly string _link;
    private readonly string _inside;

    private NetworkNamespace(string id, int subnet) =>
        (_name, _link, _inside, Machine, Services, Inside) = ("bruno-" + id, "bv" + id + "o", "bv" + id + "i", $"10.251.{subnet}.1", $"10.251.{subnet}.10", $"10.251.{subnet}.2");

    /// <summary>The machine's address on the link for the test's clients (never cut off).</summary>
    public string Machine { get; }

    /// <summary>The machine's address on the link for its servers (what <see cref="CutAsync"/> cuts off).</summary>
    public string Services { get; }

    /// <summary>The namespace's address.</summary>
    public string Inside { get; }

    /// <summary>Processes started here run inside the namespace and bind <see cref="Inside"/>.</summary>
    public TestHost Host => new(Inside, ["ip", "netns", "exec", _name]);

    /// <summary>Processes started here run on the machine and bind <see cref="Services"/>.</summary>
    public TestHost ServicesHost => new(Services, []);

    /// <summary>Makes the namespace and its link; throws with the command's output when that is not possible here.</summary>
    public static async Task<NetworkNamespace> CreateAsync()
    {
        for (var attempt = 0; ; attempt++)
        {
            var id = Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
            var subnet = RandomNumberGenerator.GetInt32(1, 255);
            var ns = new NetworkNamespace(id, subnet);
            var (outside, inside) = (ns._link, ns._inside); // at most 15 characters, as Linux wants
            try
            {
                await Shell.RunAsync("ip", "netns", "add", ns._name);
                await Shell.RunAsync("ip", "link", "add", outside, "type", "veth", "peer", "name", inside);
                await Shell.RunAsync("ip", "link", "set", inside, "netns", ns._name);
                await Shell.RunAsync("ip", "addr", "add", ns.Machine + "/24", "dev", outside);
                await Shell.RunAsync("ip", "addr", "add", ns.Services + "/24", "dev", outside);
                await Shell.RunAsync("ip", "link", "set", outside, "up");
                await Shell.RunAsync("ip", "route", "add", ns.Inside + "/32", "dev", outside, "src", ns.Services); // the machine's servers call from their address
                await ns.InsideAsync("ip", "addr", "add", ns.Inside + "/24", "dev", inside);
                await ns.InsideAsync("ip", "link", "set", inside, "up");
                await ns.InsideAsync("ip", "link", "set", "lo", "up");

                // what leaves the namespace goes through class 1:20; CutAsync sends what is for Services to class 1:10,
                // whose queue holds nothing: dropped silently, as a partition does (no error for the sender to see)
                await ns.InsideAsync("tc", "qdisc", "add", "dev", inside, "root", "handle", "1:", "htb", "default", "20", "r2q", "100000");
                await ns.InsideAsync("tc", "class", "add", "dev", inside, "parent", "1:", "classid", "1:10", "htb", "rate", "1gbit");
                await ns.InsideAsync("tc", "class", "add", "dev", inside, "parent", "1:", "classid", "1:20", "htb", "rate", "10gbit");
                await ns.InsideAsync("tc", "qdisc", "add", "dev", inside, "parent", "1:10", "handle", "10:", "pfifo", "limit", "0");
                return ns;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                await ns.DisposeAsync(); // most likely a subnet some other test took: another one
            }
        }
    }

    /// <summary>
    /// Cuts the namespace off from <see cref="Services"/>: every packet the namespace sends there is dropped silently,
    /// so connections stall and new ones time out, in both directions.
    /// </summary>
    public Task CutAsync() => InsideAsync("tc", "filter", "add", "dev", _inside, "parent", "1:", "protocol", "ip", "prio", "1", "u32", "match", "ip", "dst", Services + "/32", "flowid", "1:10");

    /// <summary>Undoes <see cref="CutAsync"/>.</summary>
    public Task HealAsync() => InsideAsync("tc", "filter", "del", "dev", _inside, "parent", "1:", "prio", "1");

    private Task InsideAsync(params string[] args) => Shell.RunAsync("ip", ["netns", "exec", _name, .. args]);

    /// <summary>Deletes the namespace and the link. Stop the processes inside first.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var command in new[] { new[] { "netns", "del", _name }, ["link", "del", _link] })
        {
            try
            {
                await Shell.RunAsync("ip", command);
            }
            catch (InvalidOperationException)
            {
                // not made (a failed attempt), or gone with the namespace
            }
        }
    }
}
