using System.Runtime.InteropServices;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Google.Protobuf;
using P = Bruno.Cluster.Remote.Protocol;

namespace Bruno.Cluster.Remote;

/// <summary>
/// Conversions between the engine's types and the store node protocol. Every value read from the wire is rebuilt
/// through the same constructors and validators the engine uses, so a request that crossed the network is checked
/// exactly like a local one (ids parsed, filters typed, no string ever becomes a query).
/// </summary>
internal static class Wire
{
    public static ByteString Vector(ReadOnlyMemory<float> vector) => ByteString.CopyFrom(MemoryMarshal.AsBytes(vector.Span));

    public static float[] Vector(ByteString bytes)
    {
        if (bytes.Length % sizeof(float) != 0)
        {
            throw new ArgumentException("A vector must be a whole number of float32 values.");
        }

        return MemoryMarshal.Cast<byte, float>(bytes.Span).ToArray();
    }

    public static P.Value Value(MetadataValue v) => v.Kind switch
    {
        MetadataKind.String => new P.Value { Text = v.AsString },
        MetadataKind.Number => new P.Value { Number = v.AsNumber },
        MetadataKind.Time => new P.Value { TimeTicks = v.AsTime.UtcTicks },
        MetadataKind.Bool => new P.Value { Flag = v.AsBool },
        _ => throw new ArgumentException("Unknown metadata kind."),
    };

    public static MetadataValue Value(P.Value v) => v.KindCase switch
    {
        P.Value.KindOneofCase.Text => MetadataValue.String(v.Text),
        P.Value.KindOneofCase.Number => MetadataValue.Number(v.Number),
        P.Value.KindOneofCase.TimeTicks => MetadataValue.Time(Time(v.TimeTicks)),
        P.Value.KindOneofCase.Flag => MetadataValue.Bool(v.Flag),
        _ => throw new ArgumentException("A metadata value has no kind."),
    };

    public static DateTimeOffset Time(long ticks) =>
        ticks is >= 0 and <= 3155378975999999999 ? new DateTimeOffset(ticks, TimeSpan.Zero) : throw new ArgumentException("A time is out of range.");

    public static P.Row Row(StoredRow r)
    {
        var row = new P.Row { Id = r.Id, Text = r.Text, Vector = Vector(r.Vector), CreatedTicks = r.CreatedAt.UtcTicks };
        if (r.UserId is { } user)
        {
            row.User = user.Value;
        }

        foreach (var (k, v) in r.Metadata)
        {
            row.Metadata[k] = Value(v);
        }

        row.Readers = Readers(r.Readers);
        return row;
    }

    /// <summary>A list of principals on the wire; null stays null (absent field).</summary>
    public static P.Readers? Readers(IReadOnlyCollection<Principal>? principals)
    {
        if (principals is null)
        {
            return null;
        }

        var p = new P.Readers();
        foreach (var principal in principals)
        {
            p.Principals.Add(new P.Principal { Kind = (int)principal.Kind, Name = principal.Name });
        }

        return p;
    }

    /// <summary>Principals from the wire, each rebuilt through <see cref="Principal.Of"/> (a bad one throws <see cref="ArgumentException"/>).</summary>
    public static Principal[]? Readers(P.Readers? p) =>
        p is null ? null : [.. p.Principals.Select(x => Principal.Of(x.Kind is >= 0 and <= byte.MaxValue ? (PrincipalKind)x.Kind : throw new ArgumentException("Unknown principal kind."), x.Name))];

    public static StoredRow Row(P.Row r) => new()
    {
        Id = r.Id,
        Text = r.Text,
        Vector = Vector(r.Vector),
        Metadata = r.Metadata.Count == 0 ? StoredRow.NoMetadata : r.Metadata.ToDictionary(p => p.Key, p => Value(p.Value), StringComparer.Ordinal),
        UserId = r.HasUser ? UserId.Parse(r.User) : null,
        Readers = Readers(r.Readers),
        CreatedAt = r.CreatedTicks == 0 ? default : Time(r.CreatedTicks),
    };

    public static P.RowList Rows(IEnumerable<StoredRow> rows)
    {
        var list = new P.RowList();
        list.Rows.AddRange(rows.Select(Row));
        return list;
    }

    public static List<StoredRow> Rows(P.RowList list) => [.. list.Rows.Select(Row)];

    public static P.Filter Filter(Filter f)
    {
        var p = new P.Filter { IncludeTenantWide = f.Owner.IncludeTenantWide, EveryUser = f.Owner.Users is null };
        if (f.Owner.Users is { } users)
        {
            p.Users.AddRange(users.Select(u => u.Value));
        }

        foreach (var c in f.Conditions)
        {
            var pc = new P.Condition { Key = c.Key };
            switch (c)
            {
                case EqualsCondition e:
                    pc.Equals_ = Value(e.Value);
                    break;
                case InCondition i:
                    pc.In = new P.ValueSet();
                    pc.In.Values.AddRange(i.Values.Select(Value));
                    break;
                case RangeCondition r:
                    pc.Range = new P.Range { MinInclusive = r.MinInclusive, MaxInclusive = r.MaxInclusive };
                    if (r.Min is { } min)
                    {
                        pc.Range.Min = Value(min);
                    }

                    if (r.Max is { } max)
                    {
                        pc.Range.Max = Value(max);
                    }

                    break;
                default:
                    throw new ArgumentException("Unknown filter condition.");
            }

            p.Conditions.Add(pc);
        }

        if (f.CreatedFrom is { } from)
        {
            p.CreatedFromTicks = from.UtcTicks;
        }

        if (f.CreatedBefore is { } before)
        {
            p.CreatedBeforeTicks = before.UtcTicks;
        }

        p.ReadableBy = Readers(f.Access?.Principals);
        return p;
    }

    public static Filter Filter(P.Filter? p)
    {
        if (p is null)
        {
            return Storage.Model.Filter.All;
        }

        var owner = new OwnerFilter(p.IncludeTenantWide, p.EveryUser ? null : [.. p.Users.Select(UserId.Parse)]);
        var conditions = p.Conditions.Select(MetadataCondition (c) => c.KindCase switch
        {
            P.Condition.KindOneofCase.Equals_ => new EqualsCondition(c.Key, Value(c.Equals_)),
            P.Condition.KindOneofCase.In => new InCondition(c.Key, [.. c.In.Values.Select(Value)]),
            P.Condition.KindOneofCase.Range => new RangeCondition(c.Key, c.Range.Min is { } min ? Value(min) : (MetadataValue?)null, c.Range.Max is { } max ? Value(max) : (MetadataValue?)null, c.Range.MinInclusive, c.Range.MaxInclusive),
            _ => throw new ArgumentException("A filter condition has no kind."),
        }).ToList();
        return new Filter
        {
            Owner = owner,
            Conditions = conditions,
            CreatedFrom = p.HasCreatedFromTicks ? Time(p.CreatedFromTicks) : null,
            CreatedBefore = p.HasCreatedBeforeTicks ? Time(p.CreatedBeforeTicks) : null,
            Access = Readers(p.ReadableBy) is { } principals ? AccessFilter.For(principals) : null,
        };
    }

    public static P.CollectionSpec Spec(CollectionSpec s) =>
        new() { Name = s.Name, Dimension = s.Dimension, Model = s.Model, Metric = (int)s.Metric, Quantization = (int)s.Quantization };

    /// <summary>The spec a message carries; throws <see cref="ArgumentException"/> for a metric or quantisation no engine knows.</summary>
    public static CollectionSpec Spec(P.CollectionSpec s) =>
        new(
            s.Name,
            s.Dimension,
            s.Model,
            s.Metric is >= 0 and <= byte.MaxValue ? (VectorMetric)s.Metric : throw new ArgumentException("Unknown vector metric."),
            s.Quantization switch
            {
                0 => VectorQuantization.Int8, // a sender from before quantisation: the default
                > 0 and <= byte.MaxValue when Enum.IsDefined((VectorQuantization)s.Quantization) => (VectorQuantization)s.Quantization,
                _ => throw new ArgumentException("Unknown vector quantization."),
            });

    public static P.SearchRequest Search(TenantId tenant, string collection, SearchRequest r)
    {
        var p = new P.SearchRequest
        {
            Tenant = tenant.Value,
            Collection = collection,
            Mode = (int)r.Mode,
            Vector = Vector(r.Vector),
            K = r.K,
            Filter = Filter(r.Filter),
            Exact = r.Exact,
            CandidatesPerList = r.CandidatesPerList,
            RrfK = r.RrfK,
            Statistics = r.Statistics is not null,
        };
        if (r.Text is not null)
        {
            p.Text = r.Text;
        }

        if (r.Ef is { } ef)
        {
            p.Ef = ef;
        }

        return p;
    }

    public static SearchRequest Search(P.SearchRequest p, Storage.Telemetry.SearchTimings timings, TermStatistics? statistics) => new()
    {
        Mode = Enum.IsDefined((SearchMode)p.Mode) ? (SearchMode)p.Mode : throw new ArgumentException("Unknown search mode."),
        Vector = Vector(p.Vector),
        Text = p.HasText ? p.Text : null,
        K = p.K,
        Filter = Filter(p.Filter),
        Exact = p.Exact,
        Ef = p.HasEf ? p.Ef : null,
        CandidatesPerList = p.CandidatesPerList,
        RrfK = p.RrfK,
        Timings = timings,
        Statistics = statistics,
    };

    public static P.Hit Hit(SearchHit h)
    {
        var p = new P.Hit { Row = Row(h.Row), Score = h.Score };
        if (h.VectorRank is { } v)
        {
            p.VectorRank = v;
        }

        if (h.TextRank is { } t)
        {
            p.TextRank = t;
        }

        return p;
    }

    public static SearchHit Hit(P.Hit p) => new(Row(p.Row), p.Score, p.HasVectorRank ? p.VectorRank : null, p.HasTextRank ? p.TextRank : null);
}
