using Mono.Cecil;

namespace Bruno.Testing;

/// <summary>
/// Which top-level namespaces of an assembly use which, read from its compiled IL with Mono.Cecil: base types,
/// interfaces, fields, properties, signatures, attributes, locals and every type, method and field an instruction
/// names (lambdas and state machines count for the type that declares them). A namespace's unit is its first segment
/// below the assembly's root (<c>Bruno.Core.Tenants</c> → <c>Tenants</c>), or its first two below <c>Features</c>
/// (<c>Bruno.Server.Features.Mcp</c> → <c>Features.Mcp</c>). The root namespace itself (options, composition) is not
/// a unit.
/// </summary>
public sealed class NamespaceGraph
{
    private readonly Dictionary<(string From, string To), SortedSet<string>> _edges = [];

    private NamespaceGraph(string root) => Root = root;

    /// <summary>The assembly's root namespace.</summary>
    public string Root { get; }

    /// <summary>The graph of the assembly at <paramref name="path"/> whose root namespace is <paramref name="root"/>.</summary>
    public static NamespaceGraph Read(string path, string root)
    {
        var graph = new NamespaceGraph(root);
        using var module = ModuleDefinition.ReadModule(path);
        foreach (var type in module.GetTypes())
        {
            graph.Scan(type);
        }

        return graph;
    }

    /// <summary>The units, each used by the other: the cycles of two (a longer cycle contains one or is found by <see cref="Cycles"/>).</summary>
    public IReadOnlyList<string> Cycles()
    {
        // strongly connected components (Tarjan): every component of more than one unit is a cycle
        var units = _edges.Keys.SelectMany(k => new[] { k.From, k.To }).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var found = new List<string>();
        var next = 0;

        void Visit(string v)
        {
            index[v] = low[v] = next++;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in units.Where(w => _edges.ContainsKey((v, w))))
            {
                if (!index.TryGetValue(w, out var seen))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], seen);
                }
            }

            if (low[v] == index[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);
                if (component.Count > 1)
                {
                    component.Sort(StringComparer.Ordinal);
                    var uses = component.SelectMany(a => component.Where(b => _edges.ContainsKey((a, b))).Select(b => $"{a} -> {b} ({_edges[(a, b)].First()})"));
                    found.Add($"{string.Join(" <-> ", component)}: {string.Join("; ", uses)}");
                }
            }
        }

        foreach (var unit in units.Where(u => !index.ContainsKey(u)))
        {
            Visit(unit);
        }

        return found;
    }

    /// <summary>Whether <paramref name="from"/> uses <paramref name="to"/>.</summary>
    public bool Uses(string from, string to) => _edges.ContainsKey((from, to));

    private string? Unit(string? ns)
    {
        if (ns is null || !ns.StartsWith(Root + ".", StringComparison.Ordinal))
        {
            return null;
        }

        var parts = ns[(Root.Length + 1)..].Split('.');
        return parts is ["Features", var feature, ..] ? "Features." + feature : parts[0];
    }

    private static string NamespaceOf(TypeReference type)
    {
        while (type.IsNested)
        {
            type = type.DeclaringType;
        }

        return type.Namespace;
    }

    private void Scan(TypeDefinition type)
    {
        Add(type, type.BaseType);
        foreach (var i in type.Interfaces)
        {
            Add(type, i.InterfaceType);
        }

        foreach (var f in type.Fields)
        {
            Add(type, f.FieldType);
        }

        foreach (var p in type.Properties)
        {
            Add(type, p.PropertyType);
        }

        foreach (var a in type.CustomAttributes)
        {
            Add(type, a.AttributeType);
        }

        foreach (var m in type.Methods)
        {
            Add(type, m.ReturnType);
            foreach (var p in m.Parameters)
            {
                Add(type, p.ParameterType);
            }

            foreach (var a in m.CustomAttributes)
            {
                Add(type, a.AttributeType);
            }

            if (!m.HasBody)
            {
                continue;
            }

            foreach (var v in m.Body.Variables)
            {
                Add(type, v.VariableType);
            }

            foreach (var instruction in m.Body.Instructions)
            {
                switch (instruction.Operand)
                {
                    case TypeReference t:
                        Add(type, t);
                        break;
                    case MethodReference method:
                        Add(type, method.DeclaringType);
                        Add(type, method.ReturnType);
                        foreach (var p in method.Parameters)
                        {
                            Add(type, p.ParameterType);
                        }

                        if (method is GenericInstanceMethod generic)
                        {
                            foreach (var g in generic.GenericArguments)
                            {
                                Add(type, g);
                            }
                        }

                        break;
                    case FieldReference field:
                        Add(type, field.DeclaringType);
                        Add(type, field.FieldType);
                        break;
                }
            }
        }
    }

    private void Add(TypeDefinition from, TypeReference? to)
    {
        if (to is null)
        {
            return;
        }

        if (to is GenericInstanceType generic)
        {
            foreach (var g in generic.GenericArguments)
            {
                Add(from, g);
            }
        }

        if (to is TypeSpecification spec)
        {
            Add(from, spec.ElementType);
            return;
        }

        var (a, b) = (Unit(NamespaceOf(from)), Unit(NamespaceOf(to)));
        if (a is null || b is null || a == b)
        {
            return;
        }

        if (!_edges.TryGetValue((a, b), out var uses))
        {
            _edges[(a, b)] = uses = new SortedSet<string>(StringComparer.Ordinal);
        }

        var declaring = from;
        while (declaring.IsNested)
        {
            declaring = declaring.DeclaringType;
        }

        uses.Add($"{declaring.FullName} uses {to.FullName}");
    }
}
