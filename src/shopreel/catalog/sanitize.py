"""Allowlist sanitizer for sellers' rich-text product descriptions.

Sellers write descriptions in HTML. That HTML is untrusted. :func:`sanitize_html` parses it with
the standard library's :class:`html.parser.HTMLParser` and writes a new document. The new
document holds only the elements and attributes in the allowlist below. Nothing from the input is
copied through as raw markup: every tag is re-serialised from its name, every attribute value is
checked and re-escaped, and every piece of text is entity-decoded and then re-escaped. Because of
this, the output is safe even when HTMLParser reads the input differently from a browser. The
worst such a difference can do is lose some of the seller's text. It can never add markup.

Allowed elements: ``p br strong b em i u s ul ol li h2 h3 h4 blockquote a table thead tbody tr
th td span div``. ``h1`` is written as ``h2``, and ``h5``/``h6`` as ``h4``, because the product
page owns the ``h1``. Images are not allowed (see docs/catalog-content-safety.md).

Allowed attributes: ``a[href]`` (absolute ``http``, ``https`` or ``mailto`` URLs only),
``a[title]``, and ``td/th[colspan|rowspan]`` (integers from 1 to 20). Every link is given
``rel="nofollow noopener noreferrer"``. Every other attribute is dropped, including ``style``,
``class``, ``id`` and every ``on*`` handler.

Elements that can run code or embed other documents are dropped together with their content:
``script``, ``style``, ``iframe``, ``object``, ``embed``, ``form``, ``input``, ``svg``, ``math``,
``template`` and the others in ``_DROP_WITH_CONTENT``. For any other element that is not allowed,
only the tags are removed and its text is kept. Comments, processing instructions, CDATA sections
and doctypes are removed.

The output is well formed. Every element that is opened is closed. Stray end tags are ignored.
Nesting stops at ``MAX_DEPTH`` (deeper tags are unwrapped). Some of the HTML parsing rules are
applied too: a block element closes an open ``p``, a new ``li`` closes the previous one, and
table parts must sit inside their table. The aim is that a browser parses the output into the
tree the sanitizer built, apart from adding a table's implied ``tbody``. Safety does not depend
on this. Sanitising is idempotent: ``sanitize_html(sanitize_html(x)) == sanitize_html(x)``.
"""

from __future__ import annotations

import re
from html import escape, unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit

__all__ = [
    "ALLOWED_TAGS",
    "LINK_REL",
    "MAX_DEPTH",
    "MAX_SPAN",
    "html_to_text",
    "safe_href",
    "sanitize_html",
]

MAX_DEPTH = 20
"""How deep elements may nest in the output. Deeper tags are unwrapped, but their text is kept."""

MAX_SPAN = 20
"""The largest ``colspan`` or ``rowspan`` that is kept."""

MAX_URL_LENGTH = 2048
MAX_TITLE_LENGTH = 300
LINK_REL = "nofollow noopener noreferrer"

# The parser reads at most this many input characters for each output character allowed by
# max_length. Pasted office HTML carries a lot of markup that is thrown away, so the factor is
# generous. It still caps the work done for each call.
_INPUT_FACTOR = 5
_CHUNK = 65_536

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "br", "strong", "b", "em", "i", "u", "s", "ul", "ol", "li", "h2", "h3", "h4",
        "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td", "span", "div",
    }
)  # fmt: skip
_ALIASES = {"h1": "h2", "h5": "h4", "h6": "h4"}
_VOID = frozenset({"br"})
_HEADINGS = frozenset({"h2", "h3", "h4"})
# Starting one of these closes an open <p>, as it does in a browser.
_CLOSES_P = frozenset({"p", "div", "ul", "ol", "li", "h2", "h3", "h4", "blockquote", "table"})
# Element parts that may only appear inside a table.
_TABLE_PARTS = frozenset({"thead", "tbody", "tr", "td", "th"})
# Elements whose direct children must be table parts. Non-blank text placed directly inside
# them is dropped, because a browser would move it out of the table.
_TABLE_CONTEXT = frozenset({"table", "thead", "tbody", "tr"})
# End tags do not reach past these. For example, </b> inside a cell cannot close a <b> outside
# the table.
_SCOPE = frozenset({"table", "td", "th"})

_DROP_WITH_CONTENT: frozenset[str] = frozenset(
    {
        # Script and style.
        "script", "style", "noscript", "template",
        # Embedded documents and plug-ins.
        "iframe", "frame", "frameset", "object", "applet", "embed", "noembed", "noframes",
        "portal", "fencedframe",
        # Foreign content. This parser does not model the SVG and MathML parsing rules.
        "svg", "math",
        # Forms and their controls.
        "form", "input", "button", "select", "option", "optgroup", "datalist", "textarea",
        "keygen", "output",
        # Raw-text and document-metadata elements.
        "xmp", "plaintext", "title", "meta", "link", "base",
        # Media, which is shown only through our own image pipeline.
        "img", "image", "picture", "source", "audio", "video", "track", "canvas", "map", "area",
        "param", "dialog",
    }
)  # fmt: skip
# These have no content and no end tag. Seeing one drops nothing but the tag itself.
_DROP_VOID = frozenset(
    {"frame", "embed", "input", "keygen", "meta", "link", "base", "img", "image", "source",
     "track", "area", "param"}
)  # fmt: skip
# In these, a self-closing start tag (<svg/>) really is empty.
_FOREIGN = frozenset({"svg", "math"})

_ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_SPAN_RE = re.compile(r"[0-9]{1,3}")
_WS_RE = re.compile(r"\s+")


def _build_unwanted_chars() -> re.Pattern[str]:
    ranges = [
        "\x00-\x08",  # C0 controls. Tab and newline are kept.
        "\x0b\x0c",
        "\x0e-\x1f",
        "\x7f-\x9f",  # DEL and the C1 controls
        "\ud800-\udfff",  # lone surrogates, which cannot be encoded as UTF-8
        "\ufdd0-\ufdef",  # noncharacters
    ]
    ranges.extend(
        f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
    )
    return re.compile("[" + "".join(ranges) + "]")


# Characters that are removed everywhere. Browsers drop NUL or turn it into U+FFFD. The rest are
# invisible or invalid, and XML rejects them.
_UNWANTED_CHARS = _build_unwanted_chars()
# Browsers strip these from both ends of a URL (C0 controls and space).
_URL_STRIP = "".join(chr(code) for code in range(0x21))


def _clean(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNWANTED_CHARS.sub("", text)


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(value: str) -> str:
    return escape(value, quote=True)


def safe_href(value: str | None) -> str | None:
    """Return the URL to write for an ``href`` value, or None if the link must not be kept.

    ``value`` must already be entity-decoded. HTMLParser decodes attribute values, so ``&#106;``,
    ``&#x6A`` and ``&colon;`` are already plain characters by the time this runs. Browsers strip
    leading and trailing control characters and spaces from a URL, and remove tabs and newlines
    anywhere in it. This does the same before it reads the scheme. As a result
    ``" java\\tscript:"`` is seen as ``javascript:`` and rejected. Only absolute ``http:``,
    ``https:`` and ``mailto:`` URLs are accepted. Relative and scheme-less URLs are refused, so no
    other spelling can slip through.
    """
    if value is None:
        return None
    url = _clean(value).strip(_URL_STRIP)
    url = url.replace("\t", "").replace("\n", "")
    match = _SCHEME_RE.match(url)
    if match is None or match.group(1).lower() not in _ALLOWED_SCHEMES:
        return None
    scheme = match.group(1).lower()
    url = scheme + ":" + url[match.end() :].replace(" ", "%20")
    if len(url) > MAX_URL_LENGTH:
        return None
    if scheme == "mailto":
        return url if len(url) > len("mailto:") else None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 literal such as "https://[x"
        return None
    if not url.startswith(scheme + "://") or not parts.hostname:
        return None
    return url


def _span(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if not _SPAN_RE.fullmatch(value):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_SPAN else None


def _first_attrs(attrs: list[tuple[str, str | None]]) -> dict[str, str | None]:
    """The attributes by name. When a name is repeated, the first one wins, as in browsers."""
    found: dict[str, str | None] = {}
    for name, value in attrs:
        found.setdefault(name, value)
    return found


class _Sanitizer(HTMLParser):
    def __init__(self, max_length: int) -> None:
        super().__init__(convert_charrefs=True)
        self._max = max_length
        self._out: list[str] = []
        self._length = 0
        self._stack: list[str] = []  # the allowed elements that are open now
        self._closing = 0  # the length of the end tags needed to close self._stack
        self._skip: list[str] = []  # open elements whose content is being dropped
        self._full = False  # output budget exhausted; everything after this is ignored

    # Driving the parser.

    def run(self, raw: str) -> str:
        limit = self._max * _INPUT_FACTOR
        raw = _clean(raw[: limit + 1])[:limit]
        try:
            for start in range(0, len(raw), _CHUNK):
                if self._full:
                    break
                self.feed(raw[start : start + _CHUNK])
        except AssertionError:
            # _markupbase throws AssertionError on a few malformed declarations. Stop, and keep
            # what has been written so far.
            self._full = True
        self._finish_leftover()
        while self._stack:
            self._pop()
        return "".join(self._out)

    def _finish_leftover(self) -> None:
        """Deal with the input that HTMLParser is still holding when the data runs out.

        ``close()`` is not called here. In some Python versions it is quadratic on unterminated
        markup (CVE-2025-6069). What is left is either text waiting for a possible character
        reference, or one markup construct that never ended. For that second case, browsers
        drop a tag or comment that is cut off by the end of the file. This does the same.
        """
        rest, self.rawdata = self.rawdata, ""
        if not rest or self._full or self._skip or self.cdata_elem is not None:
            return
        if rest.startswith("<") and rest not in ("<", "</"):
            return
        self.handle_data(unescape(rest))

    def parse_html_declaration(self, i: int) -> int:
        # Outside SVG and MathML, browsers read "<![CDATA[...", and any other "<![", as a bogus
        # comment that ends at the next ">". HTMLParser would instead try to parse an SGML
        # marked section, and raise on ones it does not know.
        if self.rawdata.startswith("<![", i):
            return self.parse_bogus_comment(i)
        return super().parse_html_declaration(i)

    # Writing output within the length budget.

    def _fits(self, piece: str, extra_closing: int = 0) -> bool:
        if self._length + len(piece) + self._closing + extra_closing <= self._max:
            return True
        self._full = True
        return False

    def _write(self, piece: str) -> None:
        self._out.append(piece)
        self._length += len(piece)

    def _push(self, tag: str, start_tag: str) -> bool:
        if len(self._stack) >= MAX_DEPTH:
            return False
        closing = len(tag) + 3
        if not self._fits(start_tag, closing):
            return False
        self._write(start_tag)
        self._stack.append(tag)
        self._closing += closing
        return True

    def _pop(self) -> None:
        tag = self._stack.pop()
        self._closing -= len(tag) + 3
        self._write(f"</{tag}>")

    def _pop_above(self, index: int) -> None:
        """Close every open element above ``self._stack[index]``, keeping that one open."""
        while len(self._stack) > index + 1:
            self._pop()

    def _find(self, names: frozenset[str] | set[str], boundary: frozenset[str]) -> int:
        """The index of the innermost open element in ``names``, searching outward but never
        past an element in ``boundary``. Returns -1 when there is none."""
        for index in range(len(self._stack) - 1, -1, -1):
            tag = self._stack[index]
            if tag in names:
                return index
            if tag in boundary:
                return -1
        return -1

    # HTMLParser callbacks.

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, self_closing=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # "/>" means nothing on an HTML element. <div/> opens a div, just as a browser reads it.
        self._start(tag, attrs, self_closing=True)

    def handle_endtag(self, tag: str) -> None:
        tag = _ALIASES.get(tag, tag)
        if self._skip:
            if tag in self._skip:
                index = len(self._skip) - 1 - self._skip[::-1].index(tag)
                del self._skip[index:]
            return
        if self._full or tag not in ALLOWED_TAGS or tag in _VOID:
            return
        if tag in _TABLE_PARTS:
            index = self._find({tag}, frozenset({"table"}))
        elif tag == "table":
            index = self._find({"table"}, frozenset())
        elif tag in _HEADINGS:
            index = self._find(_HEADINGS, _SCOPE)
        elif tag == "li":
            index = self._find({"li"}, _SCOPE | {"ul", "ol"})
        else:
            index = self._find({tag}, _SCOPE)
        if index >= 0:
            self._pop_above(index)
            self._pop()

    def handle_data(self, data: str) -> None:
        if self._skip or self._full or not data:
            return
        data = _clean(data)
        if self._stack and self._stack[-1] in _TABLE_CONTEXT and not data.isspace():
            return
        escaped = _escape_text(data)
        if self._fits(escaped):
            self._write(escaped)
            return
        # Write the longest prefix that still fits, never splitting an escape.
        room = self._max - self._length - self._closing
        kept: list[str] = []
        for char in data:
            piece = _escape_text(char)
            if len(piece) > room:
                break
            kept.append(piece)
            room -= len(piece)
        self._write("".join(kept))

    def handle_comment(self, data: str) -> None:
        return None

    def handle_decl(self, decl: str) -> None:
        return None

    def handle_pi(self, data: str) -> None:
        return None

    def unknown_decl(self, data: str) -> None:
        return None

    # The element rules.

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], *, self_closing: bool) -> None:
        tag = _ALIASES.get(tag, tag)
        if tag in _DROP_WITH_CONTENT:
            if tag not in _DROP_VOID and not (self_closing and tag in _FOREIGN):
                self._skip.append(tag)
            return
        if self._skip or self._full or tag not in ALLOWED_TAGS:
            return  # inside dropped content, out of room, or unwrapped
        if tag in _TABLE_PARTS:
            self._start_table_part(tag, attrs)
            return
        if self._stack and self._stack[-1] in _TABLE_CONTEXT:
            return  # a browser would move this out of the table. Unwrap it instead.
        if tag in _CLOSES_P:
            index = self._find({"p"}, _SCOPE)
            if index >= 0:
                self._pop_above(index)
                self._pop()
        if tag in _HEADINGS and self._stack and self._stack[-1] in _HEADINGS:
            self._pop()
        if tag == "li":
            index = self._find({"li", "ul", "ol"}, _SCOPE)
            if index >= 0 and self._stack[index] == "li":
                self._pop_above(index)
                self._pop()
                index = self._find({"ul", "ol"}, _SCOPE)
            if index < 0:
                return  # a list item outside a list is unwrapped
            self._pop_above(index)
        if tag == "br":
            if self._fits("<br>"):
                self._write("<br>")
            return
        if tag == "a":
            if self._find({"a"}, _SCOPE) >= 0:
                return  # no links inside links
            start_tag = self._link_start_tag(_first_attrs(attrs))
            if start_tag is not None:
                self._push("a", start_tag)
            return
        self._push(tag, f"<{tag}>")

    def _start_table_part(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        table = self._find({"table"}, frozenset())
        if table < 0:
            return  # table parts outside a table are unwrapped
        if tag in ("thead", "tbody"):
            self._pop_above(table)
            self._push(tag, f"<{tag}>")
            return
        section = self._find({"thead", "tbody"}, frozenset({"table"}))
        parent = section if section >= 0 else table
        if tag == "tr":
            self._pop_above(parent)
            self._push("tr", "<tr>")
            return
        # td or th
        row = self._find({"tr"}, frozenset({"table"}))
        if row >= 0:
            self._pop_above(row)
        else:
            self._pop_above(parent)
            if len(self._stack) + 2 > MAX_DEPTH or not self._push("tr", "<tr>"):
                return
        found = _first_attrs(attrs)
        parts = [tag]
        for name in ("colspan", "rowspan"):
            number = _span(found.get(name))
            if number is not None:
                parts.append(f'{name}="{number}"')
        self._push(tag, "<" + " ".join(parts) + ">")

    def _link_start_tag(self, found: dict[str, str | None]) -> str | None:
        href = safe_href(found.get("href"))
        if href is None:
            return None  # a link without a usable target is unwrapped
        parts = [f'a href="{_escape_attr(href)}"']
        title = found.get("title")
        if title:
            title = _WS_RE.sub(" ", _clean(title)).strip()[:MAX_TITLE_LENGTH].strip()
            if title:
                parts.append(f'title="{_escape_attr(title)}"')
        parts.append(f'rel="{LINK_REL}"')
        return "<" + " ".join(parts) + ">"


def sanitize_html(raw: str, *, max_length: int = 100_000) -> str:
    """Return a safe, well-formed HTML fragment made from the seller-written ``raw`` HTML.

    The result is at most ``max_length`` characters long. If the sanitised document would be
    longer, it is cut at a character boundary (never inside a tag or an escape) and every open
    element is then closed. Endpoints that want to refuse long descriptions rather than
    shorten them must check the length themselves. At most ``5 * max_length`` characters of
    input are read.
    """
    if max_length < 0:
        raise ValueError("max_length must not be negative")
    return _Sanitizer(max_length).run(raw)


_BLOCKS = frozenset(
    {"p", "div", "ul", "ol", "li", "h2", "h3", "h4", "blockquote", "table", "thead", "tbody", "tr"}
)


class _TextExtractor(HTMLParser):
    """Reads sanitised HTML (never raw input) and collects its text, one line per block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS or tag == "br":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self.handle_starttag(tag, [])

    def handle_data(self, data: str) -> None:
        self.parts.append(_WS_RE.sub(" ", data))


def html_to_text(raw: str, *, max_length: int = 100_000) -> str:
    """Return the plain text of a description, for search indexing and short previews.

    The input is sanitised first, so dropped content such as scripts, styles and forms never
    appears in the text. Entities are decoded. Block elements and ``<br>`` become line breaks,
    other whitespace runs become one space, and blank lines are removed. The result is plain
    text, not HTML: escape it wherever it is inserted into markup.
    """
    return sanitized_html_to_text(sanitize_html(raw, max_length=max_length))


def sanitized_html_to_text(clean: str) -> str:
    """:func:`html_to_text` of HTML that is already the output of :func:`sanitize_html`
    (stored descriptions), without sanitizing it a second time. Never pass raw input."""
    extractor = _TextExtractor()
    extractor.feed(clean)
    extractor.close()
    lines = (_WS_RE.sub(" ", line).strip() for line in "".join(extractor.parts).split("\n"))
    return "\n".join(line for line in lines if line)
