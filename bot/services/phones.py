"""Phone numbers a citizen gives for a request for help. Knows nothing of Telegram.

Kazakhstan shares the country code +7 with Russia; `phonenumbers` (Google's libphonenumber data)
tells them apart by their prefixes, so a typed Russian number is not taken for a local one.
"""

from __future__ import annotations

import phonenumbers

MAX_TYPED_LENGTH = 32


def kazakhstan_phone(typed: str) -> str | None:
    """A typed number in the international form (+77011234567) if it is a valid Kazakhstan
    number (with or without +7, 8 or spaces); None otherwise."""
    if not typed or len(typed) > MAX_TYPED_LENGTH:
        return None
    try:
        number = phonenumbers.parse(typed, "KZ")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) or phonenumbers.region_code_for_number(number) != "KZ":
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def shared_phone(number: str) -> str:
    """A number shared with Telegram's contact button: Telegram checked it belongs to the person,
    whatever the country, so it is only put in the international form."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"+{digits}"
