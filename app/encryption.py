"""Secrets at rest (CONTRACT §9.5; docs/provider-keys.md): an org's provider keys and webhook
signing secrets are sealed with AES-256-GCM (`cryptography`'s AEAD) under a key from
`DATA_ENGINE_ENCRYPTION_KEY`.

The setting holds one or more keys with ids, `kid:base64key,kid:base64key`: the first seals,
every one opens, so a new key is put first, `python -m app reencrypt-keys` moves every stored
secret to it, and the old key is dropped afterwards. A sealed value is one text,
`enc1:<key id>:<nonce>:<ciphertext>` (base64url), so it names the key that opens it.

The associated data binds a value to what it belongs to (the org and the provider, or the org and
the webhook): a sealed value copied to another org's row does not open there."""

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc1"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM standard nonce; random per value (2^32 values per key stay far from a collision)
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# a 32-byte key with fewer distinct bytes than this was typed, not drawn (all zeros, a repeated word)
_MIN_DISTINCT_BYTES = 16
_AAD_DOMAIN = b"data-engine-x sealed secret v1"


class EncryptionKeyError(ValueError):
    """DATA_ENGINE_ENCRYPTION_KEY cannot be used; the message says why and never holds key material."""


class SealedValueError(ValueError):
    """A sealed value does not open: unknown key id, wrong binding (another org's row), tampering or
    a malformed value. The message holds no secret."""


def _decode_key(text: str) -> bytes:
    text = text.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise EncryptionKeyError("a key is not base64") from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _aad(binding: tuple[str, ...]) -> bytes:
    # NUL cannot occur in an id or a provider name, so two bindings never encode alike
    return b"\x00".join([_AAD_DOMAIN, *(part.encode() for part in binding)])


@dataclass(frozen=True)
class Keyring:
    """The deployment's data keys, the first one current."""

    keys: tuple[tuple[str, bytes], ...] = field(repr=False)

    @classmethod
    def parse(cls, spec: str) -> "Keyring":
        """`kid:base64key[,kid:base64key…]`; each key 32 bytes (standard or URL-safe base64)."""
        keys: list[tuple[str, bytes]] = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            kid, sep, encoded = part.partition(":")
            kid = kid.strip()
            if not sep or not _KEY_ID.match(kid):
                raise EncryptionKeyError("each entry must be `<key id>:<base64 key>`, the id 1-32 of A-Z a-z 0-9 _ -")
            key = _decode_key(encoded)
            if len(key) != KEY_BYTES:
                raise EncryptionKeyError(f"key {kid} is {len(key)} bytes; AES-256 needs {KEY_BYTES}")
            if len(set(key)) < _MIN_DISTINCT_BYTES:
                raise EncryptionKeyError(
                    f"key {kid} is not random (generate one: `python -m app generate-encryption-key`)"
                )
            if any(kid == known for known, _ in keys):
                raise EncryptionKeyError(f"key id {kid} is listed twice")
            keys.append((kid, key))
        if not keys:
            raise EncryptionKeyError("no key given")
        return cls(tuple(keys))

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def material(self) -> list[str]:
        """Each key as configured-looking text, for scrubbing logs and stored payloads."""
        out = []
        for _, key in self.keys:
            out += [base64.b64encode(key).decode(), _b64(key)]
        return out

    def seal(self, plaintext: str, *, binding: tuple[str, ...]) -> str:
        kid, key = self.keys[0]
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = AESGCM(key).encrypt(nonce, plaintext.encode(), _aad(binding))
        return f"{PREFIX}:{kid}:{_b64(nonce)}:{_b64(ciphertext)}"

    def open(self, sealed: str, *, binding: tuple[str, ...]) -> str:
        kid = key_id(sealed)
        key = dict(self.keys).get(kid)
        if key is None:
            raise SealedValueError(f"sealed with key {kid}, which DATA_ENGINE_ENCRYPTION_KEY does not hold")
        _, _, nonce_text, ciphertext_text = sealed.split(":")
        try:
            nonce, ciphertext = _unb64(nonce_text), _unb64(ciphertext_text)
            return AESGCM(key).decrypt(nonce, ciphertext, _aad(binding)).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise SealedValueError("the sealed value does not open here (tampered, or another row's)") from None

    def is_current(self, sealed: str) -> bool:
        return is_sealed(sealed) and key_id(sealed) == self.current_id


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX + ":") and value.count(":") == 3


def key_id(sealed: str) -> str:
    if not is_sealed(sealed):
        raise SealedValueError("not a sealed value")
    return sealed.split(":")[1]


def generate_spec(kid: str = "k1") -> str:
    """A fresh `kid:base64key` entry (what local mode generates, and the CLI prints)."""
    return f"{kid}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def key_fingerprint(provider: str, api_key: str) -> str:
    """A short one-way name of a provider key: the pacing schedules and in-process client cache are
    per key under it, and it may be stored (provider_rate_slots) where the key may not. A provider
    key is high-entropy, so 64 bits of its SHA-256 reveal nothing usable about it."""
    return hashlib.sha256(f"{provider}\x00{api_key}".encode()).hexdigest()[:16]
