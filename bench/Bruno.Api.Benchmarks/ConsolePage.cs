using System.Text.Json.Nodes;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

/// <summary>
/// The web console's first page and its answer stream (issue 22; docs/benchmarks.md, "Web console"), in Debian's
/// Chromium driven by Playwright against an in-process server: bytes transferred by the first console page with an
/// empty cache (target ≤ 200 KB), the time until it is interactive (DOMContentLoaded, after its module script ran;
/// target ≤ 1 s), and the time between the browser receiving the answer stream's first event and the answer's first
/// text in the page (target ≤ 100 ms).
/// </summary>
internal static class ConsolePage
{
    /// <summary>Records, in the page, when the first chunk of a stream is read and when the answer's text first shows.</summary>
    private const string Probe = """
        (() => {
          window.brunoProbe = { firstChunk: null, firstText: null };
          const read = ReadableStreamDefaultReader.prototype.read;
          ReadableStreamDefaultReader.prototype.read = function () {
            return read.call(this).then((r) => {
              if (!r.done && window.brunoProbe.firstChunk === null) window.brunoProbe.firstChunk = performance.now();
              return r;
            });
          };
          new MutationObserver(() => {
            const text = document.querySelector("#answer .answer-text");
            if (text && text.textContent.length > 0 && window.brunoProbe.firstText === null) window.brunoProbe.firstText = performance.now();
          }).observe(document, { subtree: true, childList: true, characterData: true });
        })();
        """;

    public static async Task<int> RunAsync(string outFile, bool quick)
    {
        var rounds = quick ? 5 : 30;
        await using var server = await RunningServer.StartAsync();
        const string tenant = "console-bench";
        await server.CreateTenantsAsync(tenant);
        using (var client = server.Client(server.UserToken(tenant, "loader")))
        {
            for (var i = 0; i < 20; i++)
            {
                var content = $"# Guide {i}\n\n## Opening\n\nOffice {i} opens at {7 + (i % 4)} in the morning and closes at {16 + (i % 3)}.\n\n## Parking\n\nVisitors to office {i} park in lot {(char)('A' + (i % 6))}.";
                (await client.PostAsync("/api/v1/documents", RunningServer.Json(new { id = $"guide-{i}", content, content_type = "text/markdown" }))).EnsureSuccessStatusCode();
            }
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });

        var bytes = new List<double>();
        var interactive = new List<double>();
        var loaded = new List<double>();
        var firstText = new List<double>();
        var links = server.Services.GetRequiredService<ConsoleLinks>();
        for (var round = 0; round < rounds + 1; round++) // the first round warms the server up and is not counted
        {
            await using var context = await browser.NewContextAsync();
            var page = await context.NewPageAsync();
            await page.GotoAsync(new Uri(server.Address, "/console/signin?link=" + Uri.EscapeDataString(links.Issue(TenantId.Parse(tenant), UserId.Parse($"user{round}"), TenantRole.Member))).ToString());
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await page.WaitForURLAsync("**/console");

            // the first console page, with an empty cache: a new context holding only the session's cookies, every request counted
            var cookies = await context.CookiesAsync();
            await using var measured = await browser.NewContextAsync();
            await measured.AddCookiesAsync(cookies.Select(c => new Cookie { Name = c.Name, Value = c.Value, Domain = c.Domain, Path = c.Path, HttpOnly = c.HttpOnly, Secure = c.Secure, SameSite = c.SameSite }));
            await measured.AddInitScriptAsync(Probe);
            var fresh = await measured.NewPageAsync();
            var requests = new List<IRequest>();
            fresh.RequestFinished += (_, r) =>
            {
                lock (requests)
                {
                    requests.Add(r);
                }
            };
            await fresh.GotoAsync(new Uri(server.Address, "/console").ToString(), new() { WaitUntil = WaitUntilState.Load });
            await fresh.WaitForLoadStateAsync(LoadState.NetworkIdle); // the icon, fetched after the load event, counts too
            IRequest[] finished;
            lock (requests)
            {
                finished = [.. requests];
            }

            long transferred = 0;
            foreach (var r in finished)
            {
                var sizes = await r.SizesAsync();
                transferred += sizes.ResponseBodySize + sizes.ResponseHeadersSize;
            }

            var timing = await fresh.EvaluateAsync<double[]>("() => { const n = performance.getEntriesByType('navigation')[0]; return [n.domContentLoadedEventEnd, n.loadEventEnd]; }");

            await fresh.GetByLabel("Your question").FillAsync($"When does office {round % 20} open?");
            await fresh.GetByLabel("Your question").PressAsync("Enter");
            await fresh.Locator("#answer .answer[data-answered]").WaitForAsync();
            var probe = await fresh.EvaluateAsync<double?[]>("() => [window.brunoProbe.firstChunk, window.brunoProbe.firstText]");
            if (round == 0)
            {
                continue;
            }

            bytes.Add(transferred);
            interactive.Add(timing[0]);
            loaded.Add(timing[1]);
            if (probe[0] is { } chunk && probe[1] is { } text)
            {
                firstText.Add(text - chunk);
            }
        }

        var result = new JsonObject
        {
            ["date"] = DateTimeOffset.UtcNow.ToString("O"),
            ["machine"] = new JsonObject { ["cores"] = Environment.ProcessorCount, ["os"] = Environment.OSVersion.ToString(), ["runtime"] = Environment.Version.ToString() },
            ["browser"] = browser.Version,
            ["rounds"] = rounds,
            ["first_page_bytes"] = Summary(bytes),
            ["dom_content_loaded_ms"] = Summary(interactive),
            ["load_ms"] = Summary(loaded),
            ["first_event_to_text_ms"] = Summary(firstText),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(outFile)!);
        await File.WriteAllTextAsync(outFile, result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine(result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"written to {outFile}");
        return 0;
    }

    private static JsonObject Summary(List<double> values)
    {
        var sorted = values.Order().ToList();
        double P(double q) => sorted.Count == 0 ? double.NaN : Math.Round(sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)], 2);
        return new JsonObject { ["samples"] = sorted.Count, ["p50"] = P(0.5), ["p95"] = P(0.95), ["max"] = sorted.Count == 0 ? double.NaN : Math.Round(sorted[^1], 2) };
    }
}
