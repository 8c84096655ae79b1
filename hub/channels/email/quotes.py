"""What the sender wrote this time, apart from the history his client quoted and his signature.

A reply drags the whole thread along: Gmail's "On … wrote:" (in Russian "пн, 30 нояб. 2026 г.
в 21:05, Имя <адрес>:"), Thunderbird's "… пишет:", Outlook's "От: … Отправлено: … Тема: …"
block, "-----Original Message-----", ``>`` lines at the end, and a "-- " signature or a phone's
"Отправлено с iPhone". The inbox shows the new text; the rest is kept beside it (``Folded``),
so nothing is lost and an operator can unfold it. Nothing is folded when that would leave no
text at all (a forward without a word of its own stays whole).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WROTE = re.compile(
    r"^.{0,300}\b(wrote|написал|написала|написал\(а\)|пишет|schrieb|a écrit|escribió)\s*:\s*$",
    re.IGNORECASE,
)
#: Gmail in Russian, Yandex, Mail.ru: a date with a time, then the author's address, then ":".
_DATED_ADDRESS = re.compile(r"^.{0,160}\d{1,2}:\d{2}.{0,160}[^\s<>@]+@[^\s<>@]+>?\s*\)?:\s*$")
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|исходное сообщение|исходное письмо|ursprüngliche nachricht)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FROM = re.compile(r"^\s*\*?(from|от|von|de)\s*:\*?\s*\S", re.IGNORECASE)
_SENT = re.compile(r"^\s*\*?(sent|date|отправлено|дата|gesendet|envoyé)\s*:", re.IGNORECASE)
_SUBJECT = re.compile(r"^\s*\*?(subject|тема|betreff|objet)\s*:", re.IGNORECASE)
_RULE = re.compile(r"^\s*_{8,}\s*$")
_SIGNATURE = re.compile(r"^--\s?$")
_MOBILE = re.compile(
    r"^\s*(sent from my \S+.*|get outlook for (ios|android)|"
    r"отправлено (с|со|из) .{0,60}|"
    r"sent from (yandex|mail\.ru|outlook).*)$",
    re.IGNORECASE,
)
_MAX_SIGNATURE_LINES = 20


@dataclass(frozen=True, slots=True)
class Folded:
    """``text`` is what the sender wrote this time; ``quoted`` the history from its header
    on; ``signature`` his signature block (with its "-- " line)."""

    text: str
    quoted: str = ""
    signature: str = ""


def fold(text: str) -> Folded:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = _quote_start(lines)
    quoted = ""
    if start is not None:
        quoted = "\n".join(lines[start:]).strip("\n")
        lines = lines[:start]
    lines, signature = _split_signature(lines)
    new = "\n".join(lines).strip()
    if not new:
        return Folded(text.strip())
    return Folded(new, quoted, signature)


def _quote_start(lines: list[str]) -> int | None:
    """The first line of the quoted history, if any (never the first line of the text)."""
    for i in range(1, len(lines)):
        line = lines[i]
        joined = line.strip() + " " + (lines[i + 1].strip() if i + 1 < len(lines) else "")
        if _ORIGINAL.match(line) or _WROTE.match(line.strip()) or _DATED_ADDRESS.match(line):
            return _with_rule(lines, i)
        if i + 1 < len(lines) and lines[i + 1].strip() and _WROTE.match(joined):
            return _with_rule(lines, i)  # Gmail wraps a long "On … wrote:" line
        if _FROM.match(line) and _outlook_block(lines, i):
            return _with_rule(lines, i)
    return _trailing_quote(lines)


def _outlook_block(lines: list[str], i: int) -> bool:
    following = [line for line in lines[i + 1 : i + 7]]
    return any(_SENT.match(x) for x in following) and any(_SUBJECT.match(x) for x in following)


def _with_rule(lines: list[str], i: int) -> int:
    """Start at the underscore rule Outlook puts above its block, if there is one."""
    j = i - 1
    while j > 0 and not lines[j].strip():
        j -= 1
    return j if j > 0 and _RULE.match(lines[j]) else i


def _trailing_quote(lines: list[str]) -> int | None:
    """``>`` lines that end the text (a bottom-quoted reply without a header line); quotes
    answered in between are the sender's context and stay."""
    i = len(lines)
    seen_quote = False
    while i > 0 and (not lines[i - 1].strip() or lines[i - 1].lstrip().startswith(">")):
        seen_quote = seen_quote or lines[i - 1].lstrip().startswith(">")
        i -= 1
    return i if seen_quote and i > 0 else None


def _split_signature(lines: list[str]) -> tuple[list[str], str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    for i in range(len(lines) - 1, 0, -1):
        if _SIGNATURE.match(lines[i]):
            if len(lines) - i <= _MAX_SIGNATURE_LINES:
                return lines[:i], "\n".join(lines[i:]).strip()
            break
    if len(lines) > 1 and _MOBILE.match(lines[-1]):
        return lines[:-1], lines[-1].strip()
    return lines, ""
