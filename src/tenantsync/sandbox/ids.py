"""Deterministic identifiers drawn from a seeded random source."""

from __future__ import annotations

import base64
import hashlib
import random


def guid(rng: random.Random) -> str:
    """A version-4 style GUID string from `rng`."""
    value = rng.getrandbits(128)
    value = (value & ~(0xF000 << 64)) | (0x4000 << 64)
    value = (value & ~(0xC000 << 48)) | (0x8000 << 48)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def domain_sid(rng: random.Random) -> str:
    """A domain SID prefix `S-1-5-21-a-b-c`."""
    parts = (rng.randrange(10**8, 4 * 10**9) for _ in range(3))
    return "S-1-5-21-" + "-".join(str(p) for p in parts)


def immutable_id(rng: random.Random) -> str:
    """An Entra Connect source anchor: base64 of 16 random bytes."""
    return base64.b64encode(rng.getrandbits(128).to_bytes(16, "little")).decode()


def secret(rng: random.Random, length: int = 40) -> str:
    """A client-secret-looking string (Entra secrets are 40 characters with a ~ inside)."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."
    body = "".join(alphabet[rng.randrange(len(alphabet))] for _ in range(length - 4))
    return body[:3] + "8Q~" + body[3:]


def outlook_id(*parts: object) -> str:
    """An opaque Outlook item id (`AAMkA…`) derived from `parts`."""
    digest = hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=48).digest()
    return "AAMkA" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def ical_uid(*parts: object) -> str:
    """An iCalendar UID in Outlook's hex form."""
    digest = hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=32).digest()
    return "040000008200E00074C5B7101A82E00800000000" + digest.hex().upper()


def change_key(*parts: object) -> str:
    """An Outlook change key for an item version."""
    digest = hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=21).digest()
    return base64.b64encode(digest).decode()


class UniqueAliases:
    """Hands out unique aliases: alias, alias2, alias3…"""

    def __init__(self) -> None:
        self.used: dict[str, int] = {}

    def take(self, base: str) -> str:
        """A unique alias built from `base`."""
        base = base.strip(".-") or "mailbox"
        n = self.used.get(base, 0) + 1
        self.used[base] = n
        return base if n == 1 else f"{base}{n}"
