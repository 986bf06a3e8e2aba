using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Bruno.Testing;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace Bruno.Server.Tests;

/// <summary>Multipart uploads of Markdown, HTML and PDF files.</summary>
public sealed class UploadTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    private static MultipartFormDataContent Form(byte[] bytes, string fileName, string? contentType, params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(bytes);
        if (contentType is not null)
        {
            file.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        form.Add(file, "file", fileName);
        foreach (var (name, value) in fields)
        {
            form.Add(new StringContent(value), name);
        }

        return form;
    }

    [Fact]
    public async Task Html_IsReadWithItsHeadings_AndItsScriptsDropped()
    {
        using var client = await Server.TenantClientAsync(ServerFixture.NewTenant("html"));
        var html = "<html><head><style>body{}</style><script>alert('SCRIPTCANARY')</script></head><body><h1>Opening hours</h1><p>The museum opens at ten on Saturdays.</p><script>var x='SCRIPTCANARY';</script></body></html>";
        var info = await Http.JsonAsync(await client.PostAsync("/api/v1/documents", Form(Encoding.UTF8.GetBytes(html), "museum.html", "text/html", ("title", "Museum")), Http.Ct));
        Assert.Equal(("museum", "text/html"), (info.GetProperty("id").GetString(), info.GetProperty("content_type").GetString()));

        var answer = await Http.JsonAsync(await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = "When does the museum open on Saturdays?" }), Http.Ct));
        Assert.Contains("ten on Saturdays", answer.GetProperty("answer").GetString(), StringComparison.Ordinal);
        Assert.Equal("Opening hours", answer.GetProperty("sources")[0].GetProperty("section").GetString());
        Assert.DoesNotContain("SCRIPTCANARY", answer.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pdf_IsReadPageByPage_AndItsPagesAreCited()
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        builder.AddPage(UglyToad.PdfPig.Content.PageSize.A4).AddText("The warranty covers parts for two years.", 12, new UglyToad.PdfPig.Core.PdfPoint(50, 700), font);
        builder.AddPage(UglyToad.PdfPig.Content.PageSize.A4).AddText("Labour is covered for six months only.", 12, new UglyToad.PdfPig.Core.PdfPoint(50, 700), font);
        var pdf = builder.Build();

        using var client = await Server.TenantClientAsync(ServerFixture.NewTenant("pdf"));
        var info = await Http.JsonAsync(await client.PostAsync("/api/v1/documents", Form(pdf, "warranty.pdf", null), Http.Ct));
        Assert.Equal(2, info.GetProperty("chunks").GetInt32());

        var answer = await Http.JsonAsync(await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = "How long is labour covered?" }), Http.Ct));
        Assert.Contains("six months", answer.GetProperty("answer").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, answer.GetProperty("sources")[0].GetProperty("page").GetInt32()); // the page is cited
        Assert.Equal("warranty", answer.GetProperty("sources")[0].GetProperty("document_id").GetString());
    }

    [Fact]
    public async Task BadUploads_GetTheirStatusCodes_AndNothingIsStored()
    {
        var tenant = ServerFixture.NewTenant("bad-up");
        using var client = await Server.TenantClientAsync(tenant);
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", Form([0x4D, 0x5A, 0x90], "tool.exe", "application/x-msdownload"), Http.Ct), HttpStatusCode.UnsupportedMediaType);
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", Form(Encoding.UTF8.GetBytes("%PDF-1.7 broken"), "broken.pdf", "application/pdf"), Http.Ct), HttpStatusCode.UnprocessableEntity);
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", Form([0xC3, 0x28, 0x41], "bad.txt", "text/plain"), Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", Form(new byte[ServerFixture.MaxDocumentBytes + 1], "big.txt", "text/plain"), Http.Ct), HttpStatusCode.RequestEntityTooLarge);
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", Form(Encoding.UTF8.GetBytes("x"), "a.txt", "text/plain", ("metadata", "[1,2]")), Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "p", content_type = "application/pdf", content = "%PDF" }), Http.Ct), HttpStatusCode.UnsupportedMediaType);
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", Form(Encoding.UTF8.GetBytes("planted"), "a.txt", "text/plain", ("tenant_id", "someone-else")), Http.Ct), HttpStatusCode.NotFound);

        var list = await Http.JsonAsync(await client.GetAsync("/api/v1/documents", Http.Ct));
        Assert.Empty(list.GetProperty("items").EnumerateArray());
    }
}
