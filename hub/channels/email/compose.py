"""An operator's reply as an email: headers that thread it, a text and an HTML part, files.

Pure composition (the standard library's ``email``): what the thread says (subject, the
customer's last Message-ID, the ids before it) comes from ``reply_context``, signing and
sending from ``send``. The text the operator typed is the text part as is; the HTML part is the
same text escaped, its paragraphs and line breaks kept and its web addresses made links (what
click tracking rewrites), so nothing the operator wrote can become other markup in the
customer's mail client. A tracked email brings its HTML part ready (``Letter.html``).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

#: A subject that already says it is an answer ("Re:", "RE[2]:", "Ответ:"), so no "Re: Re:".
_ANSWER_PREFIX = re.compile(r"^\s*(re|ответ|отв)\s*(\[\d+\])?\s*:", re.IGNORECASE)
#: How many earlier Message-IDs References carries (the newest): enough to thread, and long
#: threads do not grow the header without end.
MAX_REFERENCES = 20
NO_SUBJECT = "(no subject)"
#: A web address in the operator's text; a trailing full stop, comma or bracket stays text.
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


@dataclass(frozen=True, slots=True)
class FilePart:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Letter:
    """Everything one outgoing email says."""

    from_address: str
    display_name: str
    to: str
    subject: str
    body: str
    message_id: str
    date: datetime
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    files: tuple[FilePart, ...] = field(default_factory=tuple)
    #: The HTML part as it goes (tracking's pixel and links); ``text_to_html(body)`` if None.
    html: str | None = None


def reply_subject(subject: str) -> str:
    """The subject of an answer in a thread that began with ``subject``."""
    subject = " ".join(subject.split())
    if not subject:
        return f"Re: {NO_SUBJECT}"
    return subject if _ANSWER_PREFIX.match(subject) else f"Re: {subject}"


def _line(line: str) -> str:
    """A line escaped, its web addresses as links."""
    out, at = [], 0
    for found in _URL.finditer(line):
        out.append(html.escape(line[at : found.start()]))
        url = html.escape(found[0])
        out.append(f'<a href="{url}">{url}</a>')
        at = found.end()
    out.append(html.escape(line[at:]))
    return "".join(out)


def text_to_html(text: str) -> str:
    """The operator's text as simple, escaped HTML: a paragraph per blank-line block."""
    blocks = [b for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if b.strip()]
    paragraphs = [
        "<p>" + "<br>\n".join(_line(line) for line in block.split("\n")) + "</p>"
        for block in blocks
    ]
    body = "\n".join(paragraphs)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        f'<body style="font-family: sans-serif; font-size: 14px;">\n{body}\n</body></html>\n'
    )


def _address(display_name: str, address: str) -> Address:
    local, _, domain = address.partition("@")
    return Address(display_name=display_name, username=local, domain=domain)


def _angle(message_id: str) -> str:
    return f"<{message_id.strip().strip('<>')}>"


def compose(letter: Letter) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = _address(letter.display_name, letter.from_address)
    msg["To"] = _address("", letter.to)
    msg["Subject"] = letter.subject
    msg["Date"] = format_datetime(letter.date)
    msg["Message-ID"] = _angle(letter.message_id)
    if letter.reply_to:
        msg["Reply-To"] = _address(letter.display_name, letter.reply_to)
    if letter.in_reply_to:
        msg["In-Reply-To"] = _angle(letter.in_reply_to)
    if letter.references:
        msg["References"] = " ".join(_angle(r) for r in letter.references[-MAX_REFERENCES:])
    msg.set_content(letter.body or "")
    document = letter.html if letter.html is not None else text_to_html(letter.body or "")
    msg.add_alternative(document, subtype="html")
    for part in letter.files:
        maintype, _, subtype = part.content_type.partition("/")
        if not maintype or not subtype or maintype == "multipart":
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(part.data, maintype=maintype, subtype=subtype, filename=part.filename)
    return msg


def render(msg: EmailMessage) -> bytes:
    """The bytes that go on the wire (CRLF line ends): what DKIM signs and SMTP sends."""
    return msg.as_bytes(policy=SMTP)


def references_for(earlier: list[str], parent: str | None) -> tuple[str, ...]:
    """References: the thread's known ids in order, the answered one last (RFC 5322 3.6.4)."""
    ids = [i for i in dict.fromkeys(earlier) if i and i != parent]
    if parent:
        ids.append(parent)
    return tuple(ids[-MAX_REFERENCES:])
