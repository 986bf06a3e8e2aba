using System.IO.Compression;
using System.Text;

namespace Bruno.Testing;

/// <summary>
/// Files built to knock an ingestion service over, made in the tests: HTML nested a million levels deep, a PDF whose
/// one stream inflates to a gibibyte, a PDF of 100,000 pages, a PDF cut short, Markdown of one enormous line.
/// </summary>
public static class HostileFiles
{
    /// <summary>An HTML document of <paramref name="depth"/> nested <c>div</c> elements around one word.</summary>
    public static byte[] DeepHtml(int depth)
    {
        var text = new StringBuilder(depth * 5 + 64);
        text.Append("<html><head><title>deep</title></head><body>");
        for (var i = 0; i < depth; i++)
        {
            text.Append("<div>");
        }

        text.Append("bottom</body></html>");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>
    /// A one-page PDF whose content stream (FlateDecode) inflates to <paramref name="inflatedMiB"/> MiB of zeros: one
    /// MiB of zeros deflated and sync-flushed, repeated, then a final empty block, framed as a zlib stream.
    /// </summary>
    public static byte[] FlateBombPdf(int inflatedMiB)
    {
        byte[] segment;
        using (var buffer = new MemoryStream())
        {
            using (var deflate = new DeflateStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                deflate.Write(new byte[1 << 20]);
                deflate.Flush(); // a sync flush: byte-aligned, not final, so copies of it can follow each other
                segment = buffer.ToArray();
            }
        }

        using var stream = new MemoryStream();
        stream.Write([0x78, 0xDA]); // zlib header
        for (var i = 0; i < inflatedMiB; i++)
        {
            stream.Write(segment);
        }

        stream.Write([0x03, 0x00]); // a final, empty fixed-Huffman block
        stream.Write([0, 0, 0, 0]); // Adler-32 (not checked by readers of PDF streams)
        return Pdf(["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << >> >>"], stream.ToArray());
    }

    /// <summary>A PDF of <paramref name="pages"/> empty pages.</summary>
    public static byte[] ManyPagesPdf(int pages)
    {
        var objects = new List<string>(pages + 2)
        {
            "<< /Type /Catalog /Pages 2 0 R >>",
            $"<< /Type /Pages /Kids [{string.Join(' ', Enumerable.Range(3, pages).Select(n => $"{n} 0 R"))}] /Count {pages} >>",
        };
        for (var i = 0; i < pages; i++)
        {
            objects.Add("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>");
        }

        return Pdf(objects, null);
    }

    /// <summary>A PDF header followed by damaged objects and no cross-reference table.</summary>
    public static byte[] MalformedPdf() =>
        Encoding.ASCII.GetBytes("%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >>\n4 0 obj << /Length 999999 >> stream\nBT /F1 12 Tf (cut sh");

    /// <summary>Markdown of one line of <paramref name="bytes"/> bytes (words without a single line break).</summary>
    public static byte[] OneLineMarkdown(int bytes)
    {
        var result = new byte[bytes];
        var word = "lorem ipsum dolor sit amet "u8;
        for (var i = 0; i < bytes; i++)
        {
            result[i] = word[i % word.Length];
        }

        return result;
    }

    /// <summary>A PDF of the given objects (numbered from 1), plus one stream object when <paramref name="stream"/> is set.</summary>
    private static byte[] Pdf(List<string> objects, byte[]? stream)
    {
        using var pdf = new MemoryStream();
        void Write(string s) => pdf.Write(Encoding.ASCII.GetBytes(s));
        Write("%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n");
        var offsets = new List<long>();
        for (var i = 0; i < objects.Count; i++)
        {
            offsets.Add(pdf.Position);
            Write($"{i + 1} 0 obj\n{objects[i]}\nendobj\n");
        }

        if (stream is not null)
        {
            offsets.Add(pdf.Position);
            Write($"{objects.Count + 1} 0 obj\n<< /Length {stream.Length} /Filter /FlateDecode >>\nstream\n");
            pdf.Write(stream);
            Write("\nendstream\nendobj\n");
        }

        var xref = pdf.Position;
        Write($"xref\n0 {offsets.Count + 1}\n0000000000 65535 f \n");
        foreach (var offset in offsets)
        {
            Write($"{offset:D10} 00000 n \n");
        }

        Write($"trailer\n<< /Size {offsets.Count + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        return pdf.ToArray();
    }
}
