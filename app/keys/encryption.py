"""Encryption of secrets at rest with keys from configuration (Fernet: AES-128-CBC + HMAC).

Several keys may be configured: the first encrypts, every one decrypts, so operators rotate by
putting a new key in front and running ``backchannel keys reencrypt``.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PLAIN = "plain:"
FERNET = "fernet:"


class KeyEncryptionError(RuntimeError):
    pass


class SecretBox:
    def __init__(self, keys: str | None) -> None:
        self._fernet: MultiFernet | None = None
        self._primary: Fernet | None = None
        if keys:
            try:
                fernets = [Fernet(k.strip()) for k in keys.split(",") if k.strip()]
                self._fernet, self._primary = MultiFernet(fernets), fernets[0]
            except ValueError as exc:
                raise KeyEncryptionError(
                    "BACKCHANNEL_KEY_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64 bytes)"
                ) from exc

    @property
    def encrypts(self) -> bool:
        return self._fernet is not None

    def seal(self, data: bytes) -> str:
        if self._fernet is None:
            return PLAIN + data.decode()
        return FERNET + self._fernet.encrypt(data).decode()

    def open(self, sealed: str) -> bytes:
        if sealed.startswith(PLAIN):
            return sealed[len(PLAIN) :].encode()
        if not sealed.startswith(FERNET):
            raise KeyEncryptionError("stored secret has an unknown format")
        if self._fernet is None:
            raise KeyEncryptionError(
                "stored secrets are encrypted; set BACKCHANNEL_KEY_ENCRYPTION_KEYS to read them"
            )
        try:
            return self._fernet.decrypt(sealed[len(FERNET) :].encode())
        except InvalidToken as exc:
            raise KeyEncryptionError(
                "no configured key encryption key decrypts the stored secrets"
            ) from exc

    def needs_reseal(self, sealed: str) -> bool:
        """True when the value is not sealed with the first configured key (or not at all)."""
        if self._primary is None:
            return False
        if sealed.startswith(PLAIN):
            return True
        try:
            self._primary.decrypt(sealed[len(FERNET) :].encode())
        except InvalidToken:
            return True
        return False

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()
