using System.Text;
using AngleSharp.Html.Parser;
using AngleSharp.Html.Parser.Tokens;
using AngleSharp.Text;

namespace Bruno.Core.Documents;

/// <summary>
/// Reads an HTML document into blocks in one pass over AngleSharp's tokenizer, without building a DOM: memory stays
/// in proportion to the text, time in proportion to the input, and the nesting depth, element count, characters and
/// deadline are checked as it goes. Scripts, styles, forms and page furniture (nav, the page's header and footer,
/// asides, elements whose role or class says navigation) are dropped; when the page marks its main content (a
/// <c>main</c> element or <c>role="main"</c>), only that is read. Headings become sections, except inside a note or tip
/// box, where they label the box's first paragraph. <c>pre</c> blocks are kept whole; data tables become rows of
/// cells; a definition term is joined to the first paragraph of its definition. The title is <c>title</c> (without a
/// trailing site name when the first <c>h1</c> shows the page's own), else the first <c>h1</c>.
/// </summary>
internal sealed class HtmlExtractor
{
    private static readonly HashSet<string> Void = new(StringComparer.Ordinal)
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr", "keygen", "frame", "basefont", "bgsound",
    };

    private static readonly HashSet<string> Dropped = new(StringComparer.Ordinal)
    {
        "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed", "canvas", "nav", "aside", "form",
        "button", "select", "textarea", "head", "dialog", "audio", "video", "map",
    };

    private static readonly HashSet<string> DroppedRoles = new(StringComparer.Ordinal)
    {
        "navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar", "toolbar", "tablist", "dialog", "alertdialog",
    };

    private static readonly HashSet<string> DroppedClasses = new(StringComparer.Ordinal)
    {
        "navheader", "navfooter", "navbar", "navigation", "nav", "sidebar", "sphinxsidebar", "sphinxsidebarwrapper", "related", "footer",
        "site-header", "site-footer", "breadcrumb", "breadcrumbs", "toc", "headerlink", "skip-link", "mobile-nav", "menu", "menu-wrapper",
        "searchbox", "inline-search", "language_switcher_placeholder", "version_switcher_placeholder", "cookie-banner", "visually-hidden",
        "sr-only", "screen-reader-text", "print-only",
    };

    private static readonly HashSet<string> AdmonitionClasses = new(StringComparer.Ordinal)
    {
        "note", "tip", "warning", "caution", "important", "attention", "danger", "error", "hint", "admonition", "seealso", "callout", "alert",
    };

    /// <summary>Elements that end a paragraph where they open or close.</summary>
    private static readonly HashSet<string> BlockLevel = new(StringComparer.Ordinal)
    {
        "address", "article", "blockquote", "body", "caption", "center", "dd", "details", "dir", "div", "dl", "dt", "fieldset", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "li", "listing", "main", "menu", "ol", "p",
        "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "legend", "xmp", "plaintext",
    };

    /// <summary>Elements whose opening closes an open <c>p</c> (HTML's implied end).</summary>
    private static readonly HashSet<string> ClosesParagraph = new(StringComparer.Ordinal)
    {
        "address", "article", "aside", "blockquote", "center", "details", "dir", "div", "dl", "fieldset", "figcaption", "figure", "footer",
        "header", "hgroup", "main", "menu", "nav", "ol", "p", "section", "summary", "ul", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "listing",
        "form", "table", "hr", "xmp", "plaintext",
    };

    private readonly ExtractionBudget _budget;
    private readonly List<Frame> _stack = [];
    private readonly List<Block> _blocks = [];
    private readonly StringBuilder _text = new();
    private readonly StringBuilder _titleText = new();
    private readonly List<TableState> _tables = [];
    private readonly bool _mainOnly;
    private bool _space = true;
    private int _elements;
    private string? _firstH1;
    private string? _pendingLabel;
    private string? _pendingTerm;

    private HtmlExtractor(ExtractionBudget budget, bool mainOnly) => (_budget, _mainOnly) = (budget, mainOnly);

    [Flags]
    private enum Mode
    {
        None = 0,
        Skip = 1,
        Pre = 2,
        Heading = 4,
        Admonition = 8,
        Title = 16,
        Term = 64,
        Definition = 128,
        Item = 256,
        Cell = 512,
        Sectioning = 1024,
    }

    /// <summary>Blocks and title of <paramref name="html"/>; throws <see cref="DocumentRejectedException"/> over a limit.</summary>
    public static ExtractedDocument Extract(string html, ExtractionBudget budget)
    {
        var extractor = new HtmlExtractor(budget, HasMainLandmark(html));
        extractor.Run(html);
        return extractor.Result();
    }

    /// <summary>Whether the page marks its main content; then only that is read.</summary>
    private static bool HasMainLandmark(string html) =>
        html.Contains("<main", StringComparison.OrdinalIgnoreCase)
        || html.Contains("role=\"main\"", StringComparison.OrdinalIgnoreCase)
        || html.Contains("role='main'", StringComparison.OrdinalIgnoreCase)
        || html.Contains("role=main", StringComparison.OrdinalIgnoreCase);

    private void Run(string html)
    {
        var tokenizer = new HtmlTokenizer(new TextSource(html), AngleSharp.Html.HtmlEntityProvider.Resolver);
        var n = 0;
        while (true)
        {
            if ((++n & 1023) == 0)
            {
                _budget.Check();
            }

            var token = tokenizer.Get();
            switch (token.Type)
            {
                case HtmlTokenType.EndOfFile:
                    while (_stack.Count > 0)
                    {
                        Pop();
                    }

                    Flush();
                    return;
                case HtmlTokenType.Character:
                    Characters(token.Data);
                    break;
                case HtmlTokenType.StartTag:
                    Open((HtmlTagToken)token, tokenizer);
                    break;
                case HtmlTokenType.EndTag:
                    Close(token.Name);
                    break;
                default:
                    break; // comments, doctype, processing instructions
            }
        }
    }

    private Mode Current => _stack.Count == 0 ? (_mainOnly ? Mode.Skip : Mode.None) : _stack[^1].Mode;

    private void Open(HtmlTagToken tag, HtmlTokenizer tokenizer)
    {
        var name = tag.Name;
        if (++_elements > _budget.Limits.MaxHtmlElements)
        {
            throw ExtractionBudget.Exceeded("MaxHtmlElements", $"The HTML document has more than {_budget.Limits.MaxHtmlElements} elements.");
        }

        // the tokenizer reads these elements' content as raw text; the tree builder would tell it so
        tokenizer.State = name switch
        {
            "script" => HtmlParseMode.Script,
            "style" or "xmp" or "iframe" or "noembed" or "noframes" => HtmlParseMode.Rawtext,
            "title" or "textarea" => HtmlParseMode.RCData,
            "plaintext" => HtmlParseMode.Plaintext,
            _ => tokenizer.State,
        };

        if (name is "br" && (Current & Mode.Skip) == 0)
        {
            Append((Current & Mode.Pre) != 0 ? "\n" : " ");
        }

        if (name is "hr")
        {
            Flush();
        }

        if (Void.Contains(name) || tag.IsSelfClosing)
        {
            return;
        }

        ImpliedEnds(name);
        var parent = Current;
        var mode = parent & ~(Mode.Title);
        if (name is "title" && (parent & Mode.Pre) == 0)
        {
            mode |= Mode.Title;
        }

        if ((mode & Mode.Skip) == 0 && IsDropped(tag, parent))
        {
            mode |= Mode.Skip;
        }

        if (_mainOnly && (name is "main" || tag.GetAttribute("role") is "main"))
        {
            mode &= ~Mode.Skip;
            if (IsDropped(tag, parent & ~Mode.Skip) && name is not "main")
            {
                mode |= Mode.Skip;
            }
        }

        if (name is "head")
        {
            mode |= Mode.Skip;
        }

        if (name is "article" or "section" or "main" or "aside" or "nav")
        {
            mode |= Mode.Sectioning;
        }

        if (BlockLevel.Contains(name) && (mode & Mode.Pre) == 0)
        {
            Flush();
        }

        if ((mode & Mode.Skip) == 0)
        {
            mode = Entered(name, tag, mode);
        }

        _stack.Add(new Frame(name, mode));
        if (_stack.Count > _budget.Limits.MaxHtmlDepth)
        {
            throw ExtractionBudget.Exceeded("MaxHtmlDepth", $"The HTML document nests elements deeper than {_budget.Limits.MaxHtmlDepth}.");
        }
    }

    /// <summary>What entering an element that is read (not dropped) starts.</summary>
    private Mode Entered(string name, HtmlTagToken tag, Mode mode)
    {
        if (name is "pre" or "listing" or "xmp" or "plaintext")
        {
            return mode | Mode.Pre;
        }

        if ((mode & Mode.Pre) != 0)
        {
            return mode;
        }

        if (Classes(tag).Any(AdmonitionClasses.Contains))
        {
            mode |= Mode.Admonition;
        }

        if ((mode & Mode.Admonition) != 0 && name is "p" && Classes(tag).Contains("admonition-title"))
        {
            return mode | Mode.Heading; // Sphinx's "Note" line: a label, not a section
        }

        switch (name)
        {
            case "h1" or "h2" or "h3" or "h4" or "h5" or "h6":
                return mode | Mode.Heading;
            case "table":
                _tables.Add(new TableState());
                return mode;
            case "tr":
                if (_tables.Count > 0)
                {
                    _tables[^1].Row.Clear();
                }

                return mode;
            case "td" or "th":
                return mode | Mode.Cell;
            case "li":
                return (mode & ~Mode.Cell) | Mode.Item;
            case "dt":
                return mode | Mode.Term; // consecutive terms share the definition that follows
            case "dd":
                return (mode & ~Mode.Term) | Mode.Definition;
            default:
                // block content inside a table cell: the table lays out the page, its cells are read as running text
                if ((mode & Mode.Cell) != 0 && BlockLevel.Contains(name) && _tables.Count > 0)
                {
                    _tables[^1].Layout = true;
                    return mode & ~Mode.Cell;
                }

                return mode;
        }
    }

    private static bool IsDropped(HtmlTagToken tag, Mode parent)
    {
        var name = tag.Name;
        if (Dropped.Contains(name))
        {
            return true;
        }

        // a header or footer inside sectioning content belongs to that section; the page's own are furniture
        if (name is "header" or "footer")
        {
            return (parent & Mode.Sectioning) == 0;
        }

        if (tag.GetAttribute("role") is { Length: > 0 } role && DroppedRoles.Contains(role))
        {
            return true;
        }

        if (tag.Attributes.Any(a => a.Name == "hidden"))
        {
            return true;
        }

        return string.Equals(tag.GetAttribute("aria-hidden"), "true", StringComparison.OrdinalIgnoreCase) || Classes(tag).Any(DroppedClasses.Contains);
    }

    private static IEnumerable<string> Classes(HtmlTagToken tag) =>
        (tag.GetAttribute("class") ?? string.Empty).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(c => c.ToLowerInvariant());

    /// <summary>HTML's implied end tags: a new paragraph, list item, term, row or cell closes the open one.</summary>
    private void ImpliedEnds(string name)
    {
        if (ClosesParagraph.Contains(name))
        {
            PopTo("p", "div", "td", "th", "li", "dd", "dt", "table", "blockquote", "body", "html", "section", "article", "main", "button");
        }

        switch (name)
        {
            case "li":
                PopTo("li", "ul", "ol", "menu", "dir", "table", "body");
                break;
            case "dt" or "dd":
                PopTo("dt", "dl", "table", "body");
                PopTo("dd", "dl", "table", "body");
                break;
            case "tr":
                PopTo("td", "tr", "table");
                PopTo("th", "tr", "table");
                PopTo("tr", "table");
                break;
            case "td" or "th":
                PopTo("td", "tr", "table");
                PopTo("th", "tr", "table");
                break;
            case "tbody" or "thead" or "tfoot":
                PopTo("tr", "table");
                break;
            case "option":
                PopTo("option", "select", "body");
                break;
            case "h1" or "h2" or "h3" or "h4" or "h5" or "h6":
                for (var i = _stack.Count - 1; i >= 0 && _stack.Count - i < 8; i--)
                {
                    if (_stack[i].Name is "h1" or "h2" or "h3" or "h4" or "h5" or "h6")
                    {
                        while (_stack.Count > i)
                        {
                            Pop();
                        }

                        break;
                    }
                }

                break;
            default:
                break;
        }
    }

    /// <summary>Closes the nearest open <paramref name="target"/> unless one of <paramref name="boundaries"/> comes first.</summary>
    private void PopTo(string target, params string[] boundaries)
    {
        for (var i = _stack.Count - 1; i >= 0; i--)
        {
            var name = _stack[i].Name;
            if (name == target)
            {
                while (_stack.Count > i)
                {
                    Pop();
                }

                return;
            }

            if (Array.IndexOf(boundaries, name) >= 0)
            {
                return;
            }
        }
    }

    private void Close(string name)
    {
        if (name is "br")
        {
            Append((Current & Mode.Pre) != 0 ? "\n" : " ");
            return;
        }

        if (Void.Contains(name))
        {
            return;
        }

        for (var i = _stack.Count - 1; i >= 0; i--)
        {
            if (_stack[i].Name == name)
            {
                while (_stack.Count > i)
                {
                    Pop();
                }

                return;
            }
        }
    }

    private void Pop()
    {
        var frame = _stack[^1];
        var mode = frame.Mode;
        var name = frame.Name;
        var skipped = (mode & Mode.Skip) != 0;
        if (name is "title" && (mode & Mode.Title) != 0)
        {
            _stack.RemoveAt(_stack.Count - 1);
            return;
        }

        if (!skipped)
        {
            Closing(frame);
        }
        else if (BlockLevel.Contains(name) && (mode & Mode.Pre) == 0)
        {
            Flush();
        }

        _stack.RemoveAt(_stack.Count - 1);
        if (!skipped && name is "table" && _tables.Count > 0)
        {
            _tables.RemoveAt(_tables.Count - 1);
        }
    }

    /// <summary>What leaving a read element finishes.</summary>
    private void Closing(Frame frame)
    {
        var (name, mode) = (frame.Name, frame.Mode);
        var parentMode = _stack.Count > 1 ? _stack[^2].Mode : Mode.None;
        if (name is "pre" or "listing" or "xmp" or "plaintext" && (parentMode & Mode.Pre) == 0)
        {
            var code = _text.ToString().Trim('\n', '\r').TrimEnd();
            _text.Clear();
            _space = true;
            if (code.Trim().Length > 0)
            {
                EmitPendingTerm();
                Emit(new Block(BlockKind.Code, code));
            }

            return;
        }

        if ((mode & Mode.Pre) != 0)
        {
            return;
        }

        if ((mode & Mode.Heading) != 0 && (parentMode & Mode.Heading) == 0)
        {
            var text = Take();
            if (text.Length == 0)
            {
                return;
            }

            if ((mode & Mode.Admonition) != 0)
            {
                _pendingLabel = text.TrimEnd(':');
                return;
            }

            var level = name is ['h', >= '1' and <= '6'] ? name[1] - '0' : 6;
            if (level == 1 && _firstH1 is null)
            {
                _firstH1 = text;
            }

            _pendingLabel = null;
            EmitPendingTerm();
            Emit(new Block(BlockKind.Heading, text, level));
            return;
        }

        if (name is "dt" && (mode & Mode.Term) != 0)
        {
            var term = Take();
            if (term.Length > 0)
            {
                _pendingTerm = _pendingTerm is null ? term : _pendingTerm + "; " + term;
            }

            return;
        }

        if ((mode & Mode.Cell) != 0 && name is "td" or "th" && _tables.Count > 0)
        {
            if (_tables[^1].Layout)
            {
                Flush(); // a layout table's cell is running text
            }
            else
            {
                _tables[^1].Row.Add(Take());
            }

            return;
        }

        if (name is "tr" && _tables.Count > 0)
        {
            Flush();
            var row = _tables[^1].Row;
            if (row.Any(c => c.Length > 0))
            {
                _tables[^1].Rows.Add("| " + string.Join(" | ", row) + " |");
            }

            row.Clear();
            return;
        }

        if (name is "table" && _tables.Count > 0)
        {
            Flush();
            var table = _tables[^1];
            if (table.Rows.Count > 0)
            {
                EmitPendingTerm();
                Emit(new Block(BlockKind.Table, string.Join('\n', table.Rows)));
            }

            return;
        }

        if (name is "dd")
        {
            Flush();
            EmitPendingTerm(); // a definition without running text: its term stands alone
            return;
        }

        if (name is "dl")
        {
            Flush();
            EmitPendingTerm();
            return;
        }

        if (BlockLevel.Contains(name))
        {
            Flush();
        }
    }

    private void Characters(string data)
    {
        var mode = Current;
        if ((mode & Mode.Title) != 0)
        {
            _titleText.Append(data);
            return;
        }

        if ((mode & Mode.Skip) != 0)
        {
            return;
        }

        if ((mode & Mode.Pre) != 0)
        {
            _text.Append(data);
            _budget.AddCharacters(data.Length);
            return;
        }

        Append(data);
    }

    /// <summary>Appends running text with whitespace collapsed to single spaces.</summary>
    private void Append(string data)
    {
        if ((Current & Mode.Pre) != 0)
        {
            _text.Append(data);
            return;
        }

        foreach (var c in data)
        {
            if (char.IsWhiteSpace(c) || c == '\u00B6')
            {
                if (!_space)
                {
                    _text.Append(' ');
                    _space = true;
                }
            }
            else
            {
                _text.Append(c);
                _space = false;
            }
        }

        _budget.AddCharacters(data.Length);
    }

    private string Take()
    {
        var text = _text.ToString().Trim();
        _text.Clear();
        _space = true;
        return text;
    }

    /// <summary>Ends the running paragraph (if any) as a block of the kind its context gives.</summary>
    private void Flush()
    {
        var mode = Current;
        if ((mode & (Mode.Heading | Mode.Term | Mode.Cell | Mode.Pre)) != 0 && (mode & Mode.Skip) == 0)
        {
            // a heading, term or cell ends with its element; block content inside it just continues the text
            if ((mode & Mode.Cell) == 0 || _tables.Count == 0 || !_tables[^1].Layout)
            {
                return;
            }
        }

        var text = Take();
        if (text.Length == 0)
        {
            return;
        }

        if (_pendingLabel is { } label)
        {
            text = label + ": " + text;
            _pendingLabel = null;
        }

        if (_pendingTerm is { } term && (mode & Mode.Definition) != 0)
        {
            text = term + " — " + text;
            _pendingTerm = null;
        }
        else
        {
            EmitPendingTerm();
        }

        Emit(new Block((mode & Mode.Item) != 0 ? BlockKind.ListItem : BlockKind.Paragraph, text));
    }

    private void EmitPendingTerm()
    {
        if (_pendingTerm is { } term)
        {
            _pendingTerm = null;
            Emit(new Block(BlockKind.Paragraph, term));
        }
    }

    private void Emit(Block block) => _blocks.Add(block);

    private ExtractedDocument Result()
    {
        EmitPendingTerm();
        var title = Collapse(_titleText.ToString());
        if (_firstH1 is { } h1)
        {
            // "os — Miscellaneous interfaces — Python 3.11 documentation": the h1 shows where the site's name starts
            if (title.Length == 0 || (title.StartsWith(h1, StringComparison.Ordinal) && title.Length > h1.Length && title[h1.Length..].TrimStart() is [',' or ':' or '|' or '-' or '—' or '–' or '·' or '»', ..]))
            {
                title = h1;
            }
        }

        return new ExtractedDocument(title.Length == 0 ? null : title, _blocks, new Dictionary<string, string>());
    }

    private static string Collapse(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    private readonly record struct Frame(string Name, Mode Mode);

    private sealed class TableState
    {
        public List<string> Rows { get; } = [];

        public List<string> Row { get; } = [];

        public bool Layout { get; set; }
    }
}
