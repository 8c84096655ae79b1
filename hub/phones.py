"""Phone numbers in any local spelling, stored as E.164.

Russian users write ``8 (916) 123-45-67``, ``+7 916 1234567`` or ``9161234567``; all are the
same number, and duplicates between channels are found only if they are stored alike.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from hub.errors import InvalidInput


def normalize_phone(raw: str, default_region: str = "RU") -> str:
    """Return ``raw`` in E.164, or raise ``InvalidInput`` if it is not a possible number."""
    return _normalized(raw, default_region)


@lru_cache(maxsize=4096)
def _normalized(raw: str, default_region: str) -> str:
    """Remembered for the latest few thousand spellings: parsing is the dearest step of a
    call event, and a provider names the same caller in each event of his call."""
    text = raw.strip()
    if not text or len(text) > 40:
        raise InvalidInput(f"not a phone number: {raw[:40]!r}", code="invalid_phone")
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"not a phone number: {raw!r}", code="invalid_phone") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput(f"not a possible phone number: {raw!r}", code="invalid_phone")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def spoken_forms(e164: str) -> dict[str, str]:
    """How a stored number is written on a page: ``international`` (``+7 495 123-00-01``) and
    ``national`` (``8 (495) 123-00-01``), the way people of its country dial it."""
    number = phonenumbers.parse(e164, None)
    return {
        "international": str(
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        ),
        "national": str(
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        ),
    }
