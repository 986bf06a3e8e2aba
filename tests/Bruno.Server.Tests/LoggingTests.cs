using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bruno.Server.Hosting.Logging;
using Bruno.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Tests;

/// <summary>Log lines are one JSON object each, in a fixed shape, and carry no personal data or credentials.</summary>
public sealed partial class LoggingTests
{
    private const string Category = "Bruno.Server.Tests.Sample";

    // Made here, in the shapes the server issues, so that no real credential sits in the repository.
    private static readonly string Jwt = string.Join('.', B64("""{"alg":"HS256","typ":"JWT"}"""), B64("""{"sub":"alice","tenant":"acme-corp","exp":1893456000}"""), B64("not a real signature, 32 bytes."));
    private static readonly string ApiKey = $"brk_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}_{System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32))}";

    private static readonly string[] OrderedFields =
        ["timestamp", "level", "message", "category", "event_id", "event_name", "tenant_id", "request_id", "trace_id", "span_id", "route", "method", "status", "latency_ms", "user", "cached"];

    private static readonly string[] EntryFields = ["timestamp", "level", "message", "category"];

    private static readonly string[] RequestFields = ["timestamp", "level", "message", "category", "event_id", "event_name", "tenant_id", "request_id", "trace_id", "span_id"];

    private static readonly string[] LevelNames = ["trace", "debug", "info", "warn", "error", "critical"];

    private static readonly string[] Tags = ["a", "gina@example.com"];

    private static readonly string[] NeverWritten = ["path", "request_path", "url", "uri", "query_string", "connection_id", "parent_id"];

    public static TheoryData<string, string> Secrets => new()
    {
        { "Invoice sent to alice.smith+billing@example.co.uk yesterday", "Invoice sent to [email] yesterday" },
        { "Owner: José.Núñez@correo.example.es.", "Owner: [email]." },
        { "Call +1 (555) 010-9999 or +44 20 7946 0958 tomorrow", "Call [phone] or [phone] tomorrow" },
        { "Office 555-010-9999, desk (555) 010-9999, fax 555.010.9999", "Office [phone], desk [phone], fax [phone]" },
        { "Mobile +4915112345678 and Paris +33 1 23 45 67 89", "Mobile [phone] and Paris [phone]" },
        { "Paid with 4111 1111 1111 1111 yesterday", "Paid with [card] yesterday" },
        { "card=none; number 4111-1111-1111-1111.", "card=none; number [card]." },
        { "Cards 5500005555555559, 4012888888881881 and 6011 1111 1111 1117", "Cards [card], [card] and [card]" },
        { "Amex 3782 822463 10005 and 378282246310005", "Amex [card] and [card]" },
        { "Card 4111 1111 1111 1111 123 expires 12/29", "Card [card] 123 expires 12/29" },
        { "SSN 078-05-1120 on file", "SSN [ssn] on file" },
        { $"Signed in with {Jwt} at noon", "Signed in with [token] at noon" },
        { $"Revoking {ApiKey} now", "Revoking [token] now" },
        { "Authorization: Bearer abc123.def-456_ghi~", "Authorization: Bearer [token]" },
        { "header was bearer Xy9zQ2w", "header was bearer [token]" },
        { "login failed: password=hunter2 user=bob", "login failed: password=[token] user=bob" },
        { "GET /callback?code=1&access_token=s3cr3t&state=x", "GET /callback?code=1&access_token=[token]&state=x" },
        { """{"api_key":"sk-live-abc","name":"n"}""", """{"api_key":"[token]","name":"n"}""" },
        { "client_secret: xyz-42 SECRET=topsecret Token='abc def'", "client_secret: [token] SECRET=[token] Token='[token]'" },
        { "X-Api-Key: k-123 and db.password = pa55", "X-Api-Key: [token] and db.password = [token]" },
    };

    public static TheoryData<string> Harmless => new()
    {
        "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
        "ids 3f2504e0-4f89-11d3-9a0c-0305e82c3301, 3f2504e04f8911d39a0c0305e82c3301 and 12345678-1234-1234-1234-123456789012",
        "at 2025-06-01T12:30:45.123Z, then 2025-06-01T12:30:45.1234567+02:00 and 2025-06-01 12:30:45",
        "GET /api/v1/documents/{id} answered 200 in 12.5 ms (p99 1500 ms, 42 of 100)",
        "Bruno 10.0.15 on .NET 10.0.1, build 20250601",
        "listening on 10.0.0.1:8080, 192.168.100.254:5432 and [::1]:5000",
        "tenant acme-corp on plan default, user key:0123456789abcdef",
        "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "A valid bearer token is required.",
        "The token does not carry the scope this request needs; Bearer Authentication failed.",
        "Request-Id 0HNA1B2C3D4E5:00000001, connection 0HNA1B2C3D4E5",
        "Retention: 3 tenants, 1200 audit entries and 45 usage rows removed",
        "unix time 1748781045128 ms (Luhn-valid, but no card starts with 1), quota 10485760 bytes, -12.5 and +3",
        "token.issue audited; max_tokens 512, token_count=17",
        "keys start with brk_",
    };

    [Theory]
    [MemberData(nameof(Secrets))]
    public void Redact_ReplacesEachKindOfSecret_InASentence(string text, string expected)
    {
        Assert.Equal(expected, Redactor.Redact(text));
        Assert.Equal(expected, Redactor.Redact(expected)); // what it writes is left as it is
    }

    [Theory]
    [MemberData(nameof(Harmless))]
    public void Redact_LeavesIdentifiersNumbersAndPlainWords_AsTheyAre(string text) =>
        Assert.Same(text, Redactor.Redact(text));

    [Fact]
    public void Redact_LeavesCardNumbersThatFailTheLuhnCheck()
    {
        foreach (var text in new[] { "card 4111111111111112 declined", "card 4111 1111 1111 1112 declined", "card 5500-0055-5555-5558 declined" })
        {
            Assert.Same(text, Redactor.Redact(text));
        }

        // the same numbers with their right check digit are taken
        Assert.Equal("card [card] declined", Redactor.Redact("card 4111 1111 1111 1111 declined"));
        Assert.Equal("card [card] declined", Redactor.Redact("card 5500-0055-5555-5559 declined"));
    }

    [Fact]
    public void Redact_WithSeveralSecrets_ReplacesAllOfThem()
    {
        var text = $"User bob@example.com (SSN 078-05-1120, phone +1 (555) 010-9999) paid with 4111-1111-1111-1111 using {Jwt}; key {ApiKey}, password=hunter2.";

        var redacted = Redactor.Redact(text);

        Assert.Equal("User [email] (SSN [ssn], phone [phone]) paid with [card] using [token]; key [token], password=[token]", redacted);
        foreach (var secret in new[] { "bob@", "078-05", "010-9999", "1111-1111", "eyJ", "brk_", "hunter2" })
        {
            Assert.DoesNotContain(secret, redacted, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Formatter_WritesTheFieldsInOrder_WithSnakeCaseNames()
    {
        var (entry, _) = Format(logger =>
        {
            using var scope = logger.BeginScope(Pairs(("RequestId", "0HNA1B2C3D4E5:00000001"), ("TraceId", "4bf92f3577b34da6a3ce929d0e0e4736"), ("SpanId", "00f067aa0ba902b7")));
            Emit(logger, LogLevel.Warning, Pairs(
                ("User", "u-17"), ("LatencyMs", 12.5), ("StatusCode", 200), ("Method", "GET"), ("Cached", false),
                ("Route", "/api/v1/documents/{id}"), ("Tenant", "acme-corp"), ("{OriginalFormat}", "Served")), "Served", new EventId(4201, "RequestServed"));
        });

        Assert.Equal(OrderedFields, Names(entry));
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", entry.GetProperty("timestamp").GetString());
        Assert.InRange(entry.GetProperty("timestamp").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal("warn", entry.GetProperty("level").GetString());
        Assert.Equal("Served", entry.GetProperty("message").GetString());
        Assert.Equal(Category, entry.GetProperty("category").GetString());
        Assert.Equal(4201, entry.GetProperty("event_id").GetInt32());
        Assert.Equal("RequestServed", entry.GetProperty("event_name").GetString());
        Assert.Equal("acme-corp", entry.GetProperty("tenant_id").GetString());
        Assert.Equal("0HNA1B2C3D4E5:00000001", entry.GetProperty("request_id").GetString());
        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", entry.GetProperty("trace_id").GetString());
        Assert.Equal("00f067aa0ba902b7", entry.GetProperty("span_id").GetString());
        Assert.Equal("/api/v1/documents/{id}", entry.GetProperty("route").GetString());
    }

    [Fact]
    public void Formatter_LevelsAndOptionalFields_AreWrittenOnlyWhenTheyApply()
    {
        var capture = new JsonLogCapture();
        using (var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(capture)))
        {
            var logger = factory.CreateLogger(Category);
            foreach (var level in new[] { LogLevel.Trace, LogLevel.Debug, LogLevel.Information, LogLevel.Warning, LogLevel.Error, LogLevel.Critical })
            {
                Emit(logger, level, Pairs(("{OriginalFormat}", "plain")), "plain");
            }
        }

        Assert.Equal(LevelNames, capture.Entries.Select(e => e.GetProperty("level").GetString()));
        Assert.All(capture.Entries, e => Assert.Equal(EntryFields, Names(e)));
    }

    [Fact]
    public void Formatter_StateWinsOverScopes_AndAnInnerScopeOverAnOuterOne()
    {
        var (entry, _) = Format(logger =>
        {
            using var outer = logger.BeginScope(Pairs(("TenantId", "outer-tenant"), ("Route", "/outer"), ("Job", "outer-job")));
            using var inner = logger.BeginScope(Pairs(("TenantId", "inner-tenant"), ("Route", "/inner")));
            Emit(logger, LogLevel.Information, Pairs(("Tenant", "state-tenant")));
        });

        Assert.Equal("state-tenant", entry.GetProperty("tenant_id").GetString());
        Assert.Equal("/inner", entry.GetProperty("route").GetString());
        Assert.Equal("outer-job", entry.GetProperty("job").GetString());
    }

    [Fact]
    public void Formatter_NeverWritesPathsOrUrls_NorShowsThemInTheMessage()
    {
        var (entry, line) = Format(logger =>
        {
            using var scope = logger.BeginScope(Pairs(
                ("RequestPath", "/api/v1/users/erin@example.com"), ("ConnectionId", "0HNA1B2C3D4E5"), ("ParentId", "00f067aa0ba902b7"), ("QueryString", "?email=erin@example.com")));
            LogAnswered(logger, new PathString("/api/v1/users/erin@example.com/profile"), 404);
            Emit(logger, LogLevel.Information, Pairs(("Url", "https://example.com/u/erin"), ("Uri", "https://example.com/u/erin")), "fetched");
        }, expectedLines: 2);

        Assert.Equal("Request to [path] answered 404", entry.GetProperty("message").GetString());
        Assert.Equal(404, entry.GetProperty("status").GetInt32());
        Assert.DoesNotContain("erin", line, StringComparison.Ordinal);
        Assert.DoesNotContain("/api/v1/users", line, StringComparison.Ordinal);
        Assert.DoesNotContain("0HNA1B2C3D4E5", line, StringComparison.Ordinal);
        Assert.All(NeverWritten, name => Assert.False(entry.TryGetProperty(name, out _), name));
    }

    [Fact]
    public void Formatter_WritesTheException_AsAnObject_WithItsMessageRedacted()
    {
        var thrown = Assert.Throws<InvalidOperationException>(Fail);
        var (entry, line) = Format(logger => LogFailed(logger, "import", thrown));

        Assert.Equal("error", entry.GetProperty("level").GetString());
        Assert.Equal("exception", Names(entry)[^1]);
        var exception = entry.GetProperty("exception");
        Assert.Equal(typeof(InvalidOperationException).FullName, exception.GetProperty("type").GetString());
        Assert.Equal("Could not reach the store as [email] with password=[token]", exception.GetProperty("message").GetString());
        Assert.Contains(nameof(Fail), exception.GetProperty("stack").GetString(), StringComparison.Ordinal);
        Assert.Equal(typeof(IOException).FullName, exception.GetProperty("inner").GetProperty("type").GetString());
        Assert.Equal("disk of [email] is full", exception.GetProperty("inner").GetProperty("message").GetString());
        Assert.DoesNotContain("frank@example.com", line, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", line, StringComparison.Ordinal);

        static void Fail() =>
            throw new InvalidOperationException("Could not reach the store as frank@example.com with password=hunter2", new IOException("disk of frank@example.com is full"));
    }

    [Fact]
    public void Formatter_WritesExactlyOneLinePerEntry_ThatParsesAsJson()
    {
        var formatter = new JsonLogFormatter(new JsonLogFormatterOptions());
        const string Message = "first line\nsecond line\r\n\t\"quoted\" \\ </script> \u2028 ü 你好 \U0001F600";
        using var writer = new StringWriter();

        formatter.Write(new LogEntry<string>(LogLevel.Information, Category, new EventId(7), Message, null, static (s, _) => s), null, writer);
        formatter.Write(new LogEntry<string>(LogLevel.Information, Category, new EventId(8), "another", null, static (s, _) => s), null, writer);

        var lines = writer.ToString().Split(Environment.NewLine);
        Assert.Equal(3, lines.Length);
        Assert.Equal(string.Empty, lines[2]);
        var first = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal(Message, first.GetProperty("message").GetString());
        Assert.Equal(8, JsonDocument.Parse(lines[1]).RootElement.GetProperty("event_id").GetInt32());
        Assert.DoesNotContain('\n', lines[0]);
        Assert.DoesNotContain('\r', lines[0]);
    }

    [Fact]
    public void Formatter_WritesNumbersAndBooleansAsJson_AndTheRestAsRedactedStrings()
    {
        var when = new DateTimeOffset(2025, 6, 1, 12, 30, 45, 123, TimeSpan.Zero);
        var (entry, _) = Format(logger => Emit(logger, LogLevel.Information, Pairs(
            ("StatusCode", 201), ("LatencyMs", 12.5), ("Bytes", 1L << 40), ("Ratio", 0.25f), ("Cost", 0.0123m), ("Cached", true),
            ("Code", "200"), ("Nan", double.NaN), ("Owner", "gina@example.com"), ("Tags", Tags),
            ("At", when), ("Kind", DayOfWeek.Monday), ("Nothing", null), ("Wait", TimeSpan.FromMilliseconds(1500))), "typed"));

        Assert.Equal(JsonValueKind.Number, entry.GetProperty("status").ValueKind);
        Assert.Equal(201, entry.GetProperty("status").GetInt32());
        Assert.Equal(12.5, entry.GetProperty("latency_ms").GetDouble());
        Assert.Equal(1L << 40, entry.GetProperty("bytes").GetInt64());
        Assert.Equal(0.25, entry.GetProperty("ratio").GetDouble());
        Assert.Equal(0.0123m, entry.GetProperty("cost").GetDecimal());
        Assert.Equal(JsonValueKind.True, entry.GetProperty("cached").ValueKind);
        Assert.Equal("200", entry.GetProperty("code").GetString());
        Assert.Equal("NaN", entry.GetProperty("nan").GetString());
        Assert.Equal("[email]", entry.GetProperty("owner").GetString());
        Assert.Equal("a, [email]", entry.GetProperty("tags").GetString());
        Assert.Equal(when, entry.GetProperty("at").GetDateTimeOffset());
        Assert.Equal("Monday", entry.GetProperty("kind").GetString());
        Assert.Equal(JsonValueKind.Null, entry.GetProperty("nothing").ValueKind);
        Assert.Equal("00:00:01.5000000", entry.GetProperty("wait").GetString());
    }

    [Fact]
    public void Formatter_AValueWhoseToStringThrows_GetsAPlaceholder_AndTheLineIsStillWritten()
    {
        var (entry, _) = Format(logger =>
        {
            var thing = new Exploding();
            using var scope = logger.BeginScope(new Unreadable());
            LogValue(logger, thing, "acme-corp");
        });

        Assert.Equal("Value [unprintable] for acme-corp", entry.GetProperty("message").GetString());
        Assert.Equal("[unprintable]", entry.GetProperty("thing").GetString());
        Assert.Equal("acme-corp", entry.GetProperty("tenant_id").GetString());

        var (failed, _) = Format(logger => Emit(logger, LogLevel.Error, Pairs(("Job", "j")), "broken", exception: new Unspeakable()));
        Assert.Equal("[unprintable]", failed.GetProperty("exception").GetProperty("message").GetString());
        Assert.Equal("j", failed.GetProperty("job").GetString());
    }

    [Fact]
    public void Formatter_TakesTraceAndSpanIds_FromTheCurrentActivity_WhenNoScopeGivesThem()
    {
        using var activity = new Activity("logging-test").SetIdFormat(ActivityIdFormat.W3C).Start();

        var (entry, _) = Format(logger => Emit(logger, LogLevel.Information, Pairs(), "traced"));
        var (scoped, _) = Format(logger =>
        {
            using var scope = logger.BeginScope(Pairs(("TraceId", "0af7651916cd43dd8448eb211c80319c"), ("SpanId", "b7ad6b7169203331")));
            Emit(logger, LogLevel.Information, Pairs(), "traced");
        });

        Assert.Equal(activity.TraceId.ToHexString(), entry.GetProperty("trace_id").GetString());
        Assert.Equal(activity.SpanId.ToHexString(), entry.GetProperty("span_id").GetString());
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", scoped.GetProperty("trace_id").GetString());
        Assert.Equal("b7ad6b7169203331", scoped.GetProperty("span_id").GetString());
    }

    [Fact]
    public void Formatter_APropertyNamedLikeAnEntryField_IsNotWrittenTwice()
    {
        var (entry, line) = Format(logger => Emit(logger, LogLevel.Information, Pairs(
            ("Message", "shadow"), ("Level", "shadow"), ("Timestamp", "shadow"), ("Exception", "shadow"), ("TenantId", "t1"), ("Tenant", "t2"), ("tenant_id", "t3")), "real"));

        Assert.Equal("real", entry.GetProperty("message").GetString());
        Assert.Equal("t1", entry.GetProperty("tenant_id").GetString());
        Assert.DoesNotContain("shadow", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Formatter_ATraceOrSpanIdOfDigitsOnly_IsNotMistakenForACard()
    {
        const string SpanId = "4111111111111111"; // valid hex, and a Luhn-valid card number
        var (entry, _) = Format(logger => Emit(logger, LogLevel.Information, Pairs(("SpanId", SpanId), ("TraceId", "41111111111111114111111111111111"), ("Note", SpanId))));

        Assert.Equal(SpanId, entry.GetProperty("span_id").GetString());
        Assert.Equal("[card]", entry.GetProperty("note").GetString());
    }

    [Fact]
    public void AddBrunoConsole_ReplacesTheProviders_WithTheConsoleAndTheChosenFormatter()
    {
        using var json = Provider(json: true);
        var providers = json.GetServices<ILoggerProvider>().ToList();
        Assert.IsType<ConsoleLoggerProvider>(Assert.Single(providers));
        Assert.Equal(JsonLogFormatter.FormatterName, json.GetRequiredService<IOptions<ConsoleLoggerOptions>>().Value.FormatterName);
        Assert.Contains(json.GetServices<ConsoleFormatter>(), f => f is JsonLogFormatter { Name: JsonLogFormatter.FormatterName });
        Assert.True(json.GetRequiredService<IOptionsMonitor<JsonLogFormatterOptions>>().CurrentValue.IncludeScopes);

        using var plain = Provider(json: false);
        Assert.IsType<ConsoleLoggerProvider>(Assert.Single(plain.GetServices<ILoggerProvider>()));
        Assert.Equal("simple", plain.GetRequiredService<IOptions<ConsoleLoggerOptions>>().Value.FormatterName);
        var simple = plain.GetRequiredService<IOptionsMonitor<SimpleConsoleFormatterOptions>>().CurrentValue;
        Assert.True(simple.SingleLine);
        Assert.True(simple.UseUtcTimestamp);

        static ServiceProvider Provider(bool json) =>
            new ServiceCollection().AddLogging(b => b.AddProvider(new JsonLogCapture()).AddBrunoConsole(json)).BuildServiceProvider();
    }

    [Fact]
    public async Task Server_WritesJsonLines_WithoutTheSecretsARequestCarried()
    {
        var capture = new JsonLogCapture();
        await using var server = await RunningServer.StartAsync(null, services => services.AddLogging(b => b.AddProvider(capture)));
        var tenant = ServerFixture.NewTenant("logs");
        await server.CreateTenantsAsync(tenant);
        const string User = "carol.jones@example.com";
        const string Card = "4111111111111111";
        using var carol = server.Client(server.UserToken(tenant, User));

        // A request naming another tenant is refused and logged (with the caller's user id, an e-mail address here)...
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/documents/{Card}");
        request.Headers.Add("X-Tenant-Id", "someone-else");
        var problem = await Http.AssertProblemAsync(await carol.SendAsync(request, Http.Ct), HttpStatusCode.NotFound);

        // ...and so is a request with an unknown API key, on a path that carries an e-mail address.
        using var anonymous = server.Client(ApiKey);
        await Http.AssertProblemAsync(await anonymous.GetAsync("/api/v1/documents/dave@example.com", Http.Ct), HttpStatusCode.Unauthorized);

        var overrideEntry = Assert.Single(capture.WithEventId(3101));
        Assert.Equal("warn", overrideEntry.GetProperty("level").GetString());
        Assert.Equal($"Tenant override attempt: caller of tenant {tenant} (user [email]) named another tenant on /api/v1/documents/{{id}}", overrideEntry.GetProperty("message").GetString());
        Assert.Equal("Bruno.Server.Tenancy.TenantFilter", overrideEntry.GetProperty("category").GetString());
        Assert.Equal(tenant, overrideEntry.GetProperty("tenant_id").GetString());
        Assert.Equal("[email]", overrideEntry.GetProperty("user").GetString());
        Assert.False(string.IsNullOrEmpty(overrideEntry.GetProperty("request_id").GetString()));
        Assert.Matches("^[0-9a-f]{32}$", overrideEntry.GetProperty("trace_id").GetString());
        Assert.Matches("^[0-9a-f]{16}$", overrideEntry.GetProperty("span_id").GetString());
        Assert.Equal(problem.GetProperty("trace_id").GetString(), overrideEntry.GetProperty("trace_id").GetString()); // the id the caller was given finds the line
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", overrideEntry.GetProperty("timestamp").GetString());
        Assert.Equal(RequestFields, Names(overrideEntry)[..RequestFields.Length]);
        Assert.All(NeverWritten, name => Assert.False(overrideEntry.TryGetProperty(name, out _), name));

        var rejected = Assert.Single(capture.WithEventId(3201));
        Assert.Equal("Rejected an invalid or revoked API key on /api/v1/documents/{id}", rejected.GetProperty("message").GetString());
        Assert.NotEqual(overrideEntry.GetProperty("trace_id").GetString(), rejected.GetProperty("trace_id").GetString());

        Assert.All(capture.Entries, e => Assert.Equal(Names(e).Distinct(), Names(e)));
        Assert.All(capture.Lines, line =>
        {
            foreach (var secret in new[] { User, Card, "dave@example.com", ApiKey, ApiKey[21..] }) // log sites name the route template, never the path
            {
                Assert.DoesNotContain(secret, line, StringComparison.Ordinal);
            }
        });
    }

    [LoggerMessage(EventId = 9001, Level = LogLevel.Warning, Message = "Request to {Path} answered {StatusCode}")]
    private static partial void LogAnswered(ILogger logger, PathString path, int statusCode);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Error, Message = "Job {Job} failed")]
    private static partial void LogFailed(ILogger logger, string job, Exception exception);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Information, Message = "Value {Thing} for {Tenant}")]
    private static partial void LogValue(ILogger logger, Exploding thing, string tenant);

    /// <summary>Logs through a logger factory with the capture (scopes on) and returns the first entry and its line.</summary>
    private static (JsonElement Entry, string Line) Format(Action<ILogger> log, int expectedLines = 1)
    {
        var capture = new JsonLogCapture();
        using (var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(capture)))
        {
            log(factory.CreateLogger(Category));
        }

        Assert.Equal(expectedLines, capture.Lines.Count);
        var entry = capture.Entries[0];
        Assert.Equal(Names(entry).Distinct(), Names(entry)); // no property twice
        return (entry, capture.Lines[0]);
    }

    /// <summary>Logs <paramref name="state"/> as it is, the way a [LoggerMessage] method's state reaches the providers.</summary>
    private static void Emit(ILogger logger, LogLevel level, List<KeyValuePair<string, object?>> state, string message = "m", EventId eventId = default, Exception? exception = null) =>
        logger.Log(level, eventId, state, exception, (_, _) => message);

    private static List<KeyValuePair<string, object?>> Pairs(params (string Key, object? Value)[] pairs) =>
        [.. pairs.Select(p => new KeyValuePair<string, object?>(p.Key, p.Value))];

    private static string[] Names(JsonElement entry) => [.. entry.EnumerateObject().Select(p => p.Name)];

    private static string B64(string text) => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));

    internal sealed class Exploding
    {
        public override string ToString() => throw new InvalidOperationException("cannot print");
    }

    /// <summary>A scope whose pairs cannot be enumerated.</summary>
    private sealed class Unreadable : IEnumerable<KeyValuePair<string, object?>>
    {
        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => throw new InvalidOperationException("cannot read");

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class Unspeakable : Exception
    {
        public override string Message => throw new InvalidOperationException("no message");
    }
}
