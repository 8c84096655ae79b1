"""Raw mail (RFC 5322 bytes) to what the hub needs of it, without ever giving up on a message.

The stdlib ``email`` package splits the MIME tree, under ``policy.compat32``: headers are read
from their raw text (``raw_items``) and decoded here anyway, and the modern policy's header
objects, built again on every look at a part's type, charset or file name, made parsing five
times slower (``python -m bench.email_imap``). Real mail breaks the rules those header classes
enforce: a Yandex subject in raw KOI8-R bytes, an encoded word in a
charset nobody knows, an address list the strict parser refuses. Each of these decodes as well
as it can (declared charset, then UTF-8, then the Cyrillic single-byte charset the bytes look
like), and a message that cannot be used at all, one without any sender, is an ``Unusable``
value with its reason, not an exception that would stop the mailbox on it.

Delivery reports (RFC 3464 ``multipart/report; report-type=delivery-status``) and automatic
replies (RFC 3834 and the vendors' headers, calltracking-email.md B.2 item 5) are recognised
here, so the caller can keep them away from automations before threading.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses
from mimetypes import guess_extension

from hub.channels.email.htmltext import html_to_text

_CHARSET_ALIASES = {
    "win-1251": "cp1251",
    "x-cp1251": "cp1251",
    "cp-1251": "cp1251",
    "windows1251": "cp1251",
    "x-user-defined": "cp1252",
    "unicode-1-1-utf-7": "utf-7",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
}
_MSG_ID = re.compile(r"<([^<>\s]+)>")
_AUTO_PRECEDENCE = {"bulk", "junk", "auto_reply"}


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    #: Lower-cased.
    address: str


@dataclass(frozen=True, slots=True)
class MailAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True, slots=True)
class BouncedRecipient:
    """One recipient of a delivery report: what the reporting server did with the mail."""

    address: str
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # "5.1.1": 5 permanent, 4 transient
    diagnostic: str = ""

    @property
    def permanent(self) -> bool:
        return self.action == "failed" and self.status.startswith("5")


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A bounce (or delay notice): per recipient, and the Message-ID of the mail it is about,
    read from the headers the report attached."""

    recipients: tuple[BouncedRecipient, ...]
    original_message_id: str | None
    original_subject: str = ""


@dataclass(frozen=True, slots=True)
class ParsedMail:
    sender: Address
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    #: ``Delivered-To`` and ``X-Original-To``: where the mail was really delivered (a plus
    #: token survives here when a client put the address in Bcc).
    delivered_to: tuple[str, ...] = ()
    subject: str = ""
    #: Without angle brackets; empty when the mail had none.
    message_id: str = ""
    in_reply_to: tuple[str, ...] = ()
    #: Oldest first, as the header lists them.
    references: tuple[str, ...] = ()
    text: str = ""
    html: str = ""
    attachments: tuple[MailAttachment, ...] = ()
    #: Why the mail counts as sent by a machine (``"Auto-Submitted: auto-replied"``), if it does.
    auto_submitted: str | None = None
    report: DeliveryReport | None = None
    #: The mail was larger than the limit: only its headers were read.
    too_large: bool = False
    size: int = 0
    #: What was wrong with it and was worked around (an unknown charset, a broken part).
    problems: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Unusable:
    """A mail the hub cannot turn into a message; ``reason`` says why, for the log and the
    channel's status."""

    reason: str
    message_id: str = ""


def parse_mail(raw: bytes, max_bytes: int | None = None) -> ParsedMail | Unusable:
    """Read a whole message; one past ``max_bytes`` is read for its headers only."""
    too_large = max_bytes is not None and len(raw) > max_bytes
    try:
        if too_large:
            msg: Message = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        else:
            msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    except Exception as exc:  # the parser is lenient; this is a last resort
        return Unusable(f"the mail could not be parsed: {type(exc).__name__}")
    return _Reader(msg, len(raw), too_large).read()


def decode_bytes(data: bytes, charset: str | None, hint: str | None = None) -> str:
    """Text of ``data``: its declared charset, else UTF-8, else the guess; never raises."""
    declared = _codec(charset)
    for name in (declared, _codec(hint) if declared is None else None, "utf-8"):
        if name is None:
            continue
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(declared or _guess_single_byte(data), errors="replace")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _guess_single_byte(data: bytes) -> str:
    """KOI8-R or windows-1251 for Russian text (lower-case letters dominate, and the two
    charsets put them in opposite halves of 0xC0-0xFF), else windows-1252."""
    upper_half = sum(1 for b in data if b >= 0xE0)
    lower_half = sum(1 for b in data if 0xC0 <= b < 0xE0)
    if upper_half + lower_half == 0:
        return "cp1252"
    return "cp1251" if upper_half >= lower_half else "koi8_r"


def _fix_8bit(text: str, hint: str | None) -> str:
    """A header the parser read as ASCII with raw 8-bit bytes escaped: decode those bytes."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"), None, hint)


def decode_words(raw: str, hint: str | None = None) -> str:
    """A header's text with its RFC 2047 encoded words decoded, unfolded."""
    raw = re.sub(r"\r?\n[ \t]+", " ", raw).strip()
    try:
        parts = decode_header(raw)
    except Exception:  # a broken encoded word: show it as it came
        return _fix_8bit(raw, hint)
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(_fix_8bit(chunk, hint))
        elif charset is None:
            out.append(_fix_8bit(chunk.decode("utf-8", "surrogateescape"), hint))
        else:
            out.append(decode_bytes(chunk, charset, hint))
    return "".join(out).strip()


def message_ids(raw: str) -> tuple[str, ...]:
    """The ``<id>``s of a Message-ID, In-Reply-To or References header, brackets removed;
    a bare id without brackets (some clients) counts too."""
    found = tuple(_MSG_ID.findall(raw))
    if found:
        return found
    bare = raw.strip()
    return (bare,) if bare and " " not in bare and "@" in bare else ()


def auto_submitted(msg: Message) -> str | None:
    """Why the mail was sent by a machine, or None for a person's mail."""
    value = _raw(msg, "Auto-Submitted")
    if value and value.split(";")[0].strip().lower() != "no":
        return f"Auto-Submitted: {value.strip()}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if _raw(msg, name) is not None:
            return f"{name}: {(_raw(msg, name) or '').strip()}"
    precedence = (_raw(msg, "Precedence") or "").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    return None


def _raw(msg: Message, name: str) -> str | None:
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return str(value)
    return None


def _raw_all(msg: Message, name: str) -> list[str]:
    wanted = name.lower()
    return [str(value) for key, value in msg.raw_items() if key.lower() == wanted]


class _Reader:
    """One message's walk: headers, bodies, files, a delivery report."""

    def __init__(self, msg: Message, size: int, too_large: bool) -> None:
        self.msg = msg
        self.size = size
        self.too_large = too_large
        self.problems: list[str] = []
        self.hint = _body_charset(msg)
        self.text: list[str] = []
        self.html: list[str] = []
        self.files: list[MailAttachment] = []

    def read(self) -> ParsedMail | Unusable:
        msg = self.msg
        message_id = next(iter(message_ids(_raw(msg, "Message-ID") or "")), "")
        sender = self._sender()
        if sender is None:
            return Unusable("the mail has no sender address (From)", message_id)
        if not self.too_large:
            self._walk(msg)
        text = "\n".join(t for t in self.text if t.strip())
        html = "\n".join(self.html)
        if not text.strip() and html:
            text = html_to_text(html)
        refs = tuple(i for r in _raw_all(msg, "References") for i in message_ids(r))
        return ParsedMail(
            sender=sender,
            to=self._addresses("To"),
            cc=self._addresses("Cc"),
            reply_to=self._addresses("Reply-To"),
            delivered_to=tuple(
                a.address for n in ("Delivered-To", "X-Original-To") for a in self._addresses(n)
            ),
            subject=decode_words(_raw(msg, "Subject") or "", self.hint),
            message_id=message_id,
            in_reply_to=message_ids(_raw(msg, "In-Reply-To") or ""),
            references=refs,
            text=text,
            html=html,
            attachments=tuple(self.files),
            auto_submitted=auto_submitted(msg),
            report=None if self.too_large else self._report(),
            too_large=self.too_large,
            size=self.size,
            problems=tuple(self.problems),
        )

    def _addresses(self, name: str) -> tuple[Address, ...]:
        values = _raw_all(self.msg, name)
        if not values:
            return ()
        unfolded = [re.sub(r"\r?\n[ \t]+", " ", v) for v in values]
        try:
            pairs = getaddresses(unfolded)
        except Exception:
            self.problems.append(f"{name}: unreadable address list")
            return ()
        out: list[Address] = []
        for display, address in pairs:
            address = _fix_8bit(address, self.hint).strip().lower()
            if "@" not in address:
                continue
            out.append(Address(decode_words(display, self.hint).strip('"').strip(), address))
        return tuple(out)

    def _sender(self) -> Address | None:
        for name in ("From", "Sender", "Reply-To", "Return-Path"):
            found = self._addresses(name)
            if found:
                if name != "From":
                    self.problems.append(f"no usable From; the sender is taken from {name}")
                return found[0]
        return None

    def _walk(self, part: Message) -> None:
        try:
            ctype = part.get_content_type()
        except Exception:
            ctype = "application/octet-stream"
        if part.is_multipart() and ctype != "message/rfc822":
            payload = part.get_payload()
            for child in payload if isinstance(payload, list) else []:
                if isinstance(child, Message):
                    self._walk(child)
            return
        if ctype in ("message/delivery-status", "text/rfc822-headers"):
            return  # read by _report
        disposition, filename = _disposition(part)
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            text = self._text_of(part)
            (self.text if ctype == "text/plain" else self.html).append(text)
            return
        self._file(part, ctype, disposition, filename)

    def _text_of(self, part: Message) -> str:
        data = _payload_bytes(part)
        charset = part.get_content_charset()
        if charset and _codec(charset) is None:
            self.problems.append(f"unknown charset {charset!r}; decoded as best it could")
        return decode_bytes(data, charset, self.hint).replace("\r\n", "\n")

    def _file(self, part: Message, ctype: str, disposition: str | None, name: str | None) -> None:
        if ctype == "message/rfc822":
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            data = first.as_bytes(policy=policy.SMTP) if isinstance(first, Message) else b""
        else:
            data = _payload_bytes(part)
        if not name:
            ext = ".eml" if ctype == "message/rfc822" else (guess_extension(ctype) or ".bin")
            name = f"attachment-{len(self.files) + 1}{ext}"
        content_id = next(iter(message_ids(_raw(part, "Content-ID") or "")), None)
        self.files.append(
            MailAttachment(
                filename=decode_words(name, self.hint)[:255],
                content_type=ctype,
                data=data,
                content_id=content_id,
                inline=disposition == "inline",
            )
        )

    def _report(self) -> DeliveryReport | None:
        msg = self.msg
        if msg.get_content_type() != "multipart/report":
            return None
        if (msg.get_param("report-type") or "").__str__().lower() != "delivery-status":
            return None
        recipients: list[BouncedRecipient] = []
        original: Message | None = None
        for part in msg.walk():
            ctype = part.get_content_type()
            if ctype == "message/delivery-status":
                recipients.extend(_recipients(part))
            elif ctype == "text/rfc822-headers" and original is None:
                original = BytesHeaderParser(policy=policy.default).parsebytes(_payload_bytes(part))
            elif ctype == "message/rfc822" and original is None:
                inner = part.get_payload()
                if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                    original = inner[0]
        original_id = None
        subject = ""
        if original is not None:
            original_id = next(iter(message_ids(_raw(original, "Message-ID") or "")), None)
            subject = decode_words(_raw(original, "Subject") or "", self.hint)
        return DeliveryReport(tuple(recipients), original_id, subject)


def _recipients(part: Message) -> list[BouncedRecipient]:
    """The per-recipient blocks of a ``message/delivery-status`` part (the first block is
    about the message as a whole)."""
    blocks = part.get_payload()
    if not isinstance(blocks, list):
        text = _payload_bytes(part).decode("utf-8", "replace")
        blocks = [
            BytesHeaderParser(policy=policy.default).parsebytes(b.strip().encode() + b"\n")
            for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
            if b.strip()
        ]
    out: list[BouncedRecipient] = []
    for block in blocks:
        if not isinstance(block, Message):
            continue
        recipient = _raw(block, "Final-Recipient") or _raw(block, "Original-Recipient")
        if recipient is None:
            continue
        address = recipient.partition(";")[2].strip() or recipient.strip()
        out.append(
            BouncedRecipient(
                address=address.strip("<>").lower(),
                action=(_raw(block, "Action") or "").strip().lower(),
                status=(_raw(block, "Status") or "").strip().split(" ")[0],
                diagnostic=re.sub(r"\s+", " ", _raw(block, "Diagnostic-Code") or "").strip(),
            )
        )
    return out


def _disposition(part: Message) -> tuple[str | None, str | None]:
    try:
        return part.get_content_disposition(), part.get_filename()
    except Exception:  # a Content-Disposition the policy cannot read
        return "attachment", None


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _body_charset(msg: Message) -> str | None:
    """The first text part's charset: the best guess for raw 8-bit bytes in headers."""
    for part in msg.walk():
        with contextlib.suppress(Exception):  # a part the policy cannot read gives no hint
            charset = part.get_content_charset() if part.get_content_maintype() == "text" else None
            if charset and _codec(charset):
                return charset
    return None
