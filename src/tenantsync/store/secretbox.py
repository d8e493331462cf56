"""Credentials at rest: Fernet encryption with a key file created on first start (mode 0600)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from tenantsync.errors import SettingsError, StoreError


class SecretBox:
    """Encrypts and decrypts connection secrets with the installation's key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_key_file(cls, path: Path, *, create: bool = True) -> SecretBox:
        """Load the key at ``path``, creating it with mode 0600 when absent and allowed."""
        if not path.exists():
            if not create:
                raise SettingsError(f"key file {path} does not exist", field="key_file")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise SettingsError(
                f"cannot read key file {path}: {exc.strerror}", field="key_file"
            ) from exc
        try:
            return cls(key)
        except ValueError as exc:
            raise SettingsError(
                f"key file {path} does not hold a valid key", field="key_file"
            ) from exc

    def encrypt(self, secret: dict[str, Any]) -> bytes:
        """Ciphertext of a JSON-serialisable secret."""
        return self._fernet.encrypt(json.dumps(secret, sort_keys=True).encode())

    def decrypt(self, token: bytes) -> dict[str, Any]:
        """The secret back from its ciphertext."""
        try:
            value: dict[str, Any] = json.loads(self._fernet.decrypt(token))
        except InvalidToken as exc:
            raise StoreError(
                "a stored credential cannot be decrypted with this key file: "
                "was the key file replaced?"
            ) from exc
        return value
