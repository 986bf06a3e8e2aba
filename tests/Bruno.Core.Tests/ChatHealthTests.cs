using System.Net;
using Bruno.Core.Agents;
using Microsoft.Extensions.Time.Testing;

namespace Bruno.Core.Tests;

/// <summary>Issue 20: what readiness learns from the chat model's real calls.</summary>
public sealed class ChatHealthTests
{
    [Fact]
    public void TheReport_CountsTheWindow_AndNamesTheLastFailure()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        var health = new ChatHealth(time);
        Assert.Equal(new ChatCallsReport(0, 0, false, null, null), health.Recent(TimeSpan.FromMinutes(5)));

        health.Failed(new HttpRequestException("bad gateway", null, HttpStatusCode.ServiceUnavailable));
        time.Advance(TimeSpan.FromMinutes(10));
        health.Succeeded();
        Assert.Equal(new ChatCallsReport(1, 0, false, null, null), health.Recent(TimeSpan.FromMinutes(5))); // the old failure is out of the window

        health.Failed(new TaskCanceledException("took too long"));
        var report = health.Recent(TimeSpan.FromMinutes(5));
        Assert.Equal((2, 1, true, "timeout", time.GetUtcNow()), (report.Calls, report.Failures, report.LastFailed, report.LastFailure, report.LastFailureAt));
        Assert.Equal("HTTP 503", ChatHealth.Describe(new ModelUnavailableException(new HttpRequestException("x", null, HttpStatusCode.ServiceUnavailable))));
    }
}
