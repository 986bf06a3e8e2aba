using System.Numerics.Tensors;
using Bruno.Storage.Identity;
using Bruno.Storage.Index;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

/// <summary>
/// Quantised vectors in memory (docs/decisions/0045): the kernels, the int8 error bound, exact search returning exactly the
/// float32 answer under every quantisation (adversarial data: near-ties, duplicates, filters, k above the rows, the
/// parallel path), and approximate search re-ranked with full precision.
/// </summary>
public sealed class QuantizationTests
{
    private static readonly VectorQuantization[] Quantised = [VectorQuantization.Int8, VectorQuantization.Binary];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<VectorMetric, VectorQuantization> MetricsAndCodes() => new()
    {
        { VectorMetric.Cosine, VectorQuantization.Int8 },
        { VectorMetric.Dot, VectorQuantization.Int8 },
        { VectorMetric.Cosine, VectorQuantization.Binary },
        { VectorMetric.Dot, VectorQuantization.Binary },
    };

    [Fact]
    public void Kernels_MatchScalarArithmetic_AcrossTheSimdWidthAndItsTail()
    {
        var rng = new Random(3);
        for (var dim = 1; dim <= 70; dim++)
        {
            var q = new float[dim];
            var a = new sbyte[dim];
            var b = new sbyte[dim];
            for (var i = 0; i < dim; i++)
            {
                q[i] = (float)(rng.NextDouble() - 0.5);
                a[i] = (sbyte)rng.Next(-127, 128);
                b[i] = (sbyte)rng.Next(-127, 128);
            }

            double floatDot = 0;
            var intDot = 0;
            for (var i = 0; i < dim; i++)
            {
                floatDot += q[i] * (double)a[i];
                intDot += a[i] * b[i];
            }

            Assert.Equal(floatDot, Quantizer.Dot(q, a), 1e-3);
            Assert.Equal(intDot, Quantizer.Dot(a, b));

            var bitsQ = new ulong[Quantizer.Words(dim)];
            var bitsA = new ulong[Quantizer.Words(dim)];
            Quantizer.EncodeBits(q, bitsQ);
            Quantizer.EncodeBits([.. a.Select(x => (float)x)], bitsA);
            Assert.Equal(Enumerable.Range(0, dim).Count(i => q[i] > 0 != a[i] > 0), Quantizer.Hamming(bitsQ, bitsA));
        }
    }

    [Fact]
    public void Int8Codes_AreTheScalarDefinition_AtEveryWidthTheEncoderSteps()
    {
        // The encoder takes 8 lanes at a time, then one: each path must give round-half-to-even of v / scale, clamped to
        // ±127, and the error of the codes it wrote. Halves are planted so rounding ties are exercised.
        foreach (var dim in new[] { 1, 7, 8, 9, 31, 32, 33, 40, 64, 384, 385 })
        {
            var v = Rows.Vector(dim, dim);
            v[0] = 127f;
            for (var i = 1; i < dim; i += 5)
            {
                v[i] = (i % 7) + 0.5f; // x.5 steps: scale is exactly 1
            }

            var codes = new sbyte[dim];
            var scale = Quantizer.EncodeInt8(v, codes, out var error);
            var sum = 0.0;
            for (var i = 0; i < dim; i++)
            {
                var expected = (sbyte)Math.Clamp(MathF.Round(v[i] / scale), -127, 127);
                Assert.True(expected == codes[i], $"dimension {dim}, component {i}: {codes[i]}, not {expected}");
                var d = v[i] - ((double)scale * codes[i]);
                sum += d * d;
            }

            Assert.Equal(Math.Sqrt(sum), error, 10);
        }
    }

    [Fact]
    public void Int8Codes_ReconstructWithinHalfAStep_AndAZeroVectorIsZero()
    {
        var v = Rows.Vector(9, 384);
        var codes = new sbyte[384];
        var scale = Quantizer.EncodeInt8(v, codes, out var error);
        Assert.Equal(v.Max(MathF.Abs) / 127f, scale);
        Assert.Contains(codes, c => Math.Abs(c) == 127);
        var sum = 0.0;
        for (var i = 0; i < v.Length; i++)
        {
            var d = v[i] - ((double)scale * codes[i]);
            Assert.True(Math.Abs(d) <= (scale / 2.0) + 1e-9, $"component {i} off by {d}");
            sum += d * d;
        }

        Assert.Equal(Math.Sqrt(sum), error, 12);
        Assert.Equal(0, Quantizer.EncodeInt8(new float[5], codes, out error));
        Assert.Equal(0, error);
        Assert.All(codes.AsSpan(0, 5).ToArray(), c => Assert.Equal(0, c));
    }

    /// <summary>
    /// The bound every exact int8 search stands on: for every query and row the full-precision score lies within the radius
    /// of the estimate, on data made to break it (huge dynamic range, tiny and huge magnitudes, zero vectors, near-parallel
    /// vectors) and at dimensions from 1 to 1,024.
    /// </summary>
    [Theory]
    [InlineData(VectorMetric.Cosine)]
    [InlineData(VectorMetric.Dot)]
    public void Int8Radius_ContainsTheFullPrecisionScore_OnAdversarialVectors(VectorMetric metric)
    {
        var rng = new Random(11);
        foreach (var dim in new[] { 1, 2, 3, 15, 16, 17, 64, 384, 1024 })
        {
            var vectors = new List<float[]>();
            for (var i = 0; i < 60; i++)
            {
                var v = Rows.Vector(1000 + i, dim);
                switch (i % 6)
                {
                    case 1:
                        v[rng.Next(dim)] = 1e4f; // one huge component: every other one rounds to 0
                        break;
                    case 2:
                        for (var d = 0; d < dim; d++)
                        {
                            v[d] *= 1e-30f; // tiny
                        }

                        break;
                    case 3:
                        for (var d = 0; d < dim; d++)
                        {
                            v[d] *= i % 12 == 3 ? 1e12f : 3e15f; // large, and huge (the dot stays finite)
                        }

                        break;
                    case 4:
                        Array.Clear(v);
                        break;
                    case 5:
                        v = [.. vectors[^1].Select(x => x + 1e-7f)]; // near-parallel to the previous one
                        break;
                }

                vectors.Add(v);
            }

            var arena = new VectorArena(dim, metric);
            var codes = new CodeArena(dim, metric, VectorQuantization.Int8);
            foreach (var v in vectors)
            {
                arena.Append(v);
                codes.Append(v);
            }

            foreach (var q in vectors.Take(30))
            {
                var qNorm = TensorPrimitives.Norm(q);
                var prepared = codes.Prepare(q, qNorm);
                for (var s = 0; s < vectors.Count; s++)
                {
                    var exact = arena.Similarity(q, qNorm, s);
                    var estimate = codes.Estimate(prepared, s, out var radius);
                    Assert.True(estimate - radius <= exact && exact <= estimate + radius, $"dim {dim}, slot {s}: {exact} outside {estimate} ± {radius}");
                }
            }
        }
    }

    /// <summary>
    /// Exact search over codes gives exactly the float32 answer (ids, order and scores), on near-ties, many duplicates
    /// (ties broken by row id), k above the rows, and owner, metadata, date and access filters.
    /// </summary>
    [Theory]
    [MemberData(nameof(MetricsAndCodes))]
    public void ExactSearch_OverCodes_EqualsTheFloat32Answer_OnAdversarialData(VectorMetric metric, VectorQuantization quantization)
    {
        const int dim = 48;
        var rows = AdversarialRows(dim, 1_500);
        var (floats, coded) = Twins(dim, metric, quantization, rows);
        using var disposeFloats = floats;
        using var disposeCoded = coded;

        var group = Principal.Group("g");
        Filter[] filters =
        [
            Filter.All,
            Filter.ForUser(UserId.Parse("u1")),
            Filter.All with { Conditions = [new EqualsCondition("kind", "b")] },
            Filter.All with { CreatedFrom = DateTimeOffset.FromUnixTimeSeconds(500) },
            Filter.ReadableBy([group]),
        ];
        var queries = new List<float[]> { Rows.Vector(77, dim), rows[0].Vector.ToArray(), rows[10].Vector.ToArray(), rows[400].Vector.ToArray(), rows[700].Vector.ToArray().Select(x => -x).ToArray() };
        foreach (var query in queries)
        {
            foreach (var filter in filters)
            {
                foreach (var k in new[] { 1, 10, 37, 2_000 })
                {
                    var hits = AssertSameAnswer(floats, coded, new SearchRequest { Vector = query, K = k, Exact = true, Filter = filter });
                    Assert.True(k < 2_000 || hits > 0);
                }
            }
        }
    }

    [Fact]
    public void Int8ExactSearch_ReadsFewFullPrecisionVectors_AndBinaryReadsEveryCandidate()
    {
        const int dim = 64;
        using var int8 = NewState(dim, VectorMetric.Dot, VectorQuantization.Int8);
        using var binary = NewState(dim, VectorMetric.Dot, VectorQuantization.Binary);
        var rows = Enumerable.Range(0, 5_000).Select(i => Rows.Row($"r{i}", "text", i, dim: dim)).ToList();
        int8.Apply([.. rows.Select(AnalyzedRow.Of)], null);
        binary.Apply([.. rows.Select(AnalyzedRow.Of)], null);

        for (var q = 0; q < 10; q++)
        {
            var request = new SearchRequest { Vector = Rows.Vector(50_000 + q, dim), K = 10, Exact = true };
            Assert.Equal(int8.Search(request, "t").Select(h => h.Row.Id), binary.Search(request, "t").Select(h => h.Row.Id));
        }

        // the bound leaves only the rows near the k-th score: a few per cent of 5,000 per query, not all of them
        Assert.InRange(int8.FullPrecisionReads, 10 * 10, 10 * 250);
        Assert.Equal(10 * 5_000, binary.FullPrecisionReads);
    }

    [Theory]
    [MemberData(nameof(MetricsAndCodes))]
    public void ExactSearch_SplitAcrossCores_EqualsTheFloat32Answer(VectorMetric metric, VectorQuantization quantization)
    {
        // more candidates than ParallelExactRows, on overlapping reader lists, with duplicate vectors (every vector 4 times)
        const int dim = 32;
        Principal[]?[] lists = [new[] { Principal.Group("a"), Principal.Group("b") }, new[] { Principal.Group("a") }, new[] { Principal.Group("b") }, null];
        var rows = Enumerable.Range(0, 12_000).Select(i => Rows.Row($"r{i}", "text", i % 3_000, dim: dim) with { Readers = lists[i % 4] }).ToList();
        var (floats, coded) = Twins(dim, metric, quantization, rows);
        using var disposeFloats = floats;
        using var disposeCoded = coded;
        Assert.True(rows.Count(r => r.Readers is null || r.Readers.Contains(Principal.Group("a"))) >= CollectionState.ParallelExactRows);
        for (var q = 0; q < 5; q++)
        {
            Assert.Equal(25, AssertSameAnswer(floats, coded, new SearchRequest { Vector = Rows.Vector(900 + q, dim), K = 25, Exact = true, Filter = Filter.ReadableBy([Principal.Group("a")]) }));
        }
    }

    /// <summary>
    /// HNSW over codes: the graph is built and walked on codes, the pool re-ranked with full precision, so every hit carries
    /// its full-precision score, hits are ordered by it (ties by id), and recall against exact search is high.
    /// </summary>
    [Theory]
    [MemberData(nameof(MetricsAndCodes))]
    public async Task ApproximateSearch_OverCodes_ReRanksWithFullPrecision_WithHighRecall(VectorMetric metric, VectorQuantization quantization)
    {
        const int dim = 64;
        using var state = NewState(dim, metric, quantization, annThreshold: 500);
        var rows = ClusteredRows(dim, 3_000);
        state.Apply([.. rows.Select(AnalyzedRow.Of)], null);
        await state.WaitForIndexAsync(Ct);
        var byId = rows.ToDictionary(r => r.Id);
        double found = 0, total = 0;
        long approximateReads = 0;
        for (var q = 0; q < 40; q++)
        {
            var query = Jitter(rows[q * 71].Vector.Span, 0.3f, 500 + q);
            var before = state.FullPrecisionReads;
            var approx = state.Search(new SearchRequest { Vector = query, K = 10 }, "t");
            approximateReads += state.FullPrecisionReads - before;
            var exact = state.Search(new SearchRequest { Vector = query, K = 10, Exact = true }, "t");
            Assert.Equal(10, approx.Count);
            foreach (var hit in approx)
            {
                var v = byId[hit.Row.Id].Vector.Span;
                var full = metric == VectorMetric.Dot ? TensorPrimitives.Dot(query, v) : TensorPrimitives.Dot(query, v) / (TensorPrimitives.Norm(query) * TensorPrimitives.Norm(v));
                Assert.Equal(full, hit.Score);
            }

            Assert.Equal(approx.OrderByDescending(h => h.Score).ThenBy(h => h.Row.Id, StringComparer.Ordinal).Select(h => h.Row.Id), approx.Select(h => h.Row.Id));
            found += exact.Select(h => h.Row.Id).Intersect(approx.Select(h => h.Row.Id)).Count();
            total += 10;
        }

        Assert.True(found / total >= (quantization == VectorQuantization.Int8 ? 0.97 : 0.9), $"recall {found / total}");

        // int8 re-ranks the pool by upper bound and stops early (the same answer as scoring all of it, fewer reads);
        // binary codes bound nothing, so the whole pool of ef (96) is read
        if (quantization == VectorQuantization.Int8)
        {
            Assert.InRange(approximateReads, 40 * 10, 40 * 96 / 4);
        }
        else
        {
            Assert.Equal(40 * 96, approximateReads);
        }
    }

    [Fact]
    public async Task TheQuantisation_IsTheSpecsChoice_KeptAcrossAReopen_AndAnUndefinedOneIsRefused()
    {
        await using var store = new TempStore();
        Assert.Equal(VectorQuantization.Int8, TempStore.Spec().Quantization);
        foreach (var q in Quantised.Append(VectorQuantization.None))
        {
            var c = await store.CollectionAsync("acme", TempStore.Spec(8, name: "c_" + q.ToString().ToLowerInvariant()) with { Quantization = q });
            await c.UpsertAsync([.. Enumerable.Range(0, 50).Select(i => Rows.Row($"r{i}", "x", i))], Ct);
            var hits = await c.SearchAsync(new SearchRequest { Vector = Rows.Vector(3), K = 3 }, Ct);
            Assert.Equal("r3", hits[0].Row.Id);
            Assert.Equal(Rows.Vector(3), hits[0].Row.Vector.ToArray());
        }

        var id = TenantId.Parse("acme");
        await Assert.ThrowsAsync<ArgumentException>(() => store.Engine.Tenant(id).EnsureCollectionAsync(TempStore.Spec(8, name: "bad") with { Quantization = (VectorQuantization)9 }, Ct));

        // the choice is stored with the collection (format 3): a reopened tenant holds each collection as it was made
        await store.ReopenAsync();
        var specs = await store.Engine.Tenant(id).ListCollectionsAsync(Ct);
        Assert.Equal(
            ["c_binary:Binary", "c_int8:Int8", "c_none:None"],
            specs.Select(s => $"{s.Name}:{s.Quantization}"));
        foreach (var spec in specs)
        {
            var hits = await store.Engine.Tenant(id).Collection(spec.Name).SearchAsync(new SearchRequest { Vector = Rows.Vector(3), K = 3, Exact = true }, Ct);
            Assert.Equal("r3", hits[0].Row.Id);
        }
    }

    /// <summary>The same rows in a float32 collection and in one with <paramref name="quantization"/>.</summary>
    private static (CollectionState Floats, CollectionState Coded) Twins(int dim, VectorMetric metric, VectorQuantization quantization, List<StoredRow> rows)
    {
        var floats = NewState(dim, metric, VectorQuantization.None);
        var coded = NewState(dim, metric, quantization);
        floats.Apply([.. rows.Select(AnalyzedRow.Of)], null);
        coded.Apply([.. rows.Select(AnalyzedRow.Of)], null);
        return (floats, coded);
    }

    /// <summary>Asserts both collections answer with the same ids, order and scores (bit for bit); returns the hit count.</summary>
    private static int AssertSameAnswer(CollectionState floats, CollectionState coded, SearchRequest request)
    {
        var want = floats.Search(request, "t");
        Assert.Equal(want.Select(h => (h.Row.Id, h.Score)), coded.Search(request, "t").Select(h => (h.Row.Id, h.Score)));
        return want.Count;
    }

    /// <summary>A collection as an engine makes it: an int8 one keeps its full-precision vectors in a spill file (decision 0048).</summary>
    private static CollectionState NewState(int dim, VectorMetric metric, VectorQuantization quantization, int annThreshold = 1_000_000) =>
        new(1, new CollectionSpec("c", dim, "m", metric, quantization), new IndexSettings(annThreshold, 16, 128, 96, FilteredExactRows: annThreshold), Path.GetTempPath());

    /// <summary>
    /// Rows made to trip a bound: groups of exact duplicates (ties only the row id can break), near-duplicates one ulp-ish
    /// apart, scaled copies (equal under cosine, not under dot), and random rows; with owners, a metadata key, dates and readers.
    /// </summary>
    private static List<StoredRow> AdversarialRows(int dim, int n)
    {
        var group = Principal.Group("g");
        var rows = new List<StoredRow>(n);
        var rng = new Random(5);
        for (var i = 0; i < n; i++)
        {
            var v = (i % 5) switch
            {
                0 or 1 => Rows.Vector(i / 50, dim), // 20 duplicates of each of a few vectors
                2 => [.. Rows.Vector(i / 50, dim).Select(x => x + (float)((rng.NextDouble() - 0.5) * 1e-6))], // near-ties
                3 => [.. Rows.Vector(i / 50, dim).Select(x => x * (1 + (i % 7)))], // scaled copies
                _ => Rows.Vector(10_000 + i, dim),
            };
            rows.Add(new StoredRow
            {
                Id = $"r{(i * 7919) % n:D5}", // ids not in slot order, so the tie-break shows
                Text = "text",
                Vector = v,
                UserId = UserId.Parse($"u{i % 3}"),
                Metadata = new Dictionary<string, MetadataValue> { ["kind"] = i % 2 == 0 ? "a" : "b" },
                CreatedAt = DateTimeOffset.FromUnixTimeSeconds(i),
                Readers = i % 4 == 0 ? null : new[] { group },
            });
        }

        return rows;
    }

    private static List<StoredRow> ClusteredRows(int dim, int n)
    {
        var centres = Enumerable.Range(0, 30).Select(c => Rows.Vector(7_000 + c, dim)).ToArray();
        return [.. Enumerable.Range(0, n).Select(i => Rows.Row($"r{i:D5}", "text", i, dim: dim) with { Vector = Jitter(centres[i % centres.Length], 0.5f, i) })];
    }

    private static float[] Jitter(ReadOnlySpan<float> centre, float amount, int seed)
    {
        var noise = Rows.Vector(seed + 1_000_000, centre.Length);
        var v = new float[centre.Length];
        for (var d = 0; d < v.Length; d++)
        {
            v[d] = centre[d] + (amount * noise[d]);
        }

        return v;
    }
}
