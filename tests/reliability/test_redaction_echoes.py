"""Redaction catches the ways a provider echoes a key (issue 9 item 12): percent-encoded inside a
URL, form-encoded, and masked to its first or last characters."""

import re
from urllib.parse import quote, quote_plus

import pytest

from app.operations.redact import REDACTED, redact

# shaped like real keys: URL-unsafe characters make the encoded forms differ from the plain one
KEY = "sk_live+Ab3/Xy9=Qz7Lm2Nq8Rt4Vw6"
SAFE = ""
OTHER = "pk-0123456789abcdef0123456789"


def lower_hex(text: str) -> str:
    """Percent-escapes in lower case (%2b), as some HTTP clients write them."""
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def leaks(text: str, key: str) -> list[str]:
    """Every run of 8+ characters of the key, or of its encoded forms, left in the text."""
    found = []
    for form in {key, quote(key, safe=""), quote_plus(key), lower_hex(quote(key, safe=""))}:
        for i in range(len(form) - 7):
            if form[i : i + 8] in text:
                found.append(form[i : i + 8])
    return found


@pytest.mark.parametrize(
    "echo",
    [
        f"GET https://api.example.test/v1/find?api={quote(KEY, safe='')}&email=a%40b.com failed",
        f"GET https://api.example.test/v1/find?api={lower_hex(quote(KEY, safe=SAFE))} failed",
        f"body was api_key={quote_plus(KEY)}&x=1",
        f"invalid key {KEY[:8]}... (check your dashboard)",
        f"invalid key {KEY[:14]}****",
        f"key ending in ...{KEY[-8:]} is disabled",
        f"key ****{KEY[-12:]} is disabled",
        f"{quote(KEY, safe='')[:10]}…",
        f"the key {KEY} itself",
    ],
)
def test_encoded_and_partial_echoes_of_a_key_are_redacted(echo):
    scrubbed = redact({"message": echo, "nested": [echo]}, [KEY, OTHER])
    assert leaks(scrubbed["message"], KEY) == [] and leaks(scrubbed["nested"][0], KEY) == [], scrubbed
    assert REDACTED in scrubbed["message"]


def test_text_without_the_key_is_untouched():
    text = "sk_live is a prefix shape, Ab3 and 6 are fragments shorter than eight characters"
    assert redact({"m": text, "n": 5, "b": None}, [KEY, OTHER]) == {"m": text, "n": 5, "b": None}
    # the surroundings of a redacted run survive
    assert redact(f"before {KEY[:9]} after", [KEY]) == f"before {REDACTED} after"
