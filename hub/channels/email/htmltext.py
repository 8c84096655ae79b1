"""The text of an HTML-only email, for the message body the inbox lists and searches.

Many mailers (Outlook, newsletters, some phones) send no text part. The operator still sees the
sanitised HTML; the body gets its text: blocks on lines of their own, links' addresses kept in
brackets, scripts, styles and the head dropped, whitespace as a browser would collapse it.
"""

from __future__ import annotations

import contextlib
import re
from html.parser import HTMLParser

_BLOCKS = {
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "blockquote", "pre", "hr",
    "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer",
}  # fmt: skip
_HIDDEN = {"script", "style", "head", "title", "template"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden = 0
        self.pre = 0
        self.href: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "pre":
            self.pre += 1
        if tag in _BLOCKS:
            self.out.append("\n")
        if tag == "li":
            self.out.append("- ")
        if tag == "a":
            self.href.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in _BLOCKS:
            self.out.append("\n")
        if tag == "a" and self.href:
            href = self.href.pop()
            if href and href.startswith(("http://", "https://")) and href not in self.out[-1]:
                self.out.append(f" [{href}]")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    parser = _Text()
    with contextlib.suppress(Exception):  # HTMLParser is lenient; keep what it read
        parser.feed(html)
        parser.close()
    lines = (line.strip() for line in "".join(parser.out).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
