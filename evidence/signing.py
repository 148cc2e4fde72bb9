"""The installation's Ed25519 signing key: it signs evidence package manifests.

The private key lives in a PKCS#8 PEM file: ``evidence.signing_key_path`` from the config, or
``<data_dir>/evidence-signing.key``, generated on first use with mode 0600. The public key is published (API,
and inside every package) as a PEM SubjectPublicKeyInfo; its fingerprint is the SHA-256 of that key's DER
form, which anyone can recompute with ``openssl pkey -pubin -in public_key.pem -outform DER | sha256sum``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vms.config import Settings

log = logging.getLogger("evidence.signing")

KEY_FILE_NAME = "evidence-signing.key"
ALGORITHM = "Ed25519"
SIGNATURE_BYTES = 64


class SigningKeyError(Exception):
    """The signing key file cannot be read or is not an Ed25519 private key."""


class PublicKeyError(ValueError):
    """Bytes that should hold an Ed25519 public key in PEM do not."""


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 (lowercase hex) of the key's DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def normalize_fingerprint(text: str) -> str:
    """A fingerprint as people type it (``SHA256:AB:CD...``, spaces, upper case) in canonical form."""
    cleaned = text.strip().lower()
    cleaned = cleaned.removeprefix("sha256:").removeprefix("sha256 ")
    return "".join(ch for ch in cleaned if ch not in ": -")


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key_pem(data: bytes) -> Ed25519PublicKey:
    """Parse a PEM public key; PublicKeyError unless it is an Ed25519 key."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise PublicKeyError(f"not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise PublicKeyError(f"not an Ed25519 public key ({type(key).__name__})")
    return key


def signature_is_valid(public_key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


class InstallationKey:
    """The private key of this installation and what is published about it."""

    def __init__(self, private_key: Ed25519PrivateKey, path: Path | None = None) -> None:
        self._private = private_key
        self.path = path
        self.public_key = private_key.public_key()
        self.fingerprint = fingerprint(self.public_key)
        self.public_key_pem = public_key_pem(self.public_key)

    @staticmethod
    def path_for(settings: Settings) -> tuple[Path, bool]:
        """Where the key lives, and whether it is configured (a configured key is never generated)."""
        configured: Path | str | None = getattr(settings.evidence, "signing_key_path", None)
        if configured:
            return Path(configured), True
        return Path(settings.data_dir) / KEY_FILE_NAME, False

    @classmethod
    def for_settings(cls, settings: Settings) -> InstallationKey:
        """The key at ``evidence.signing_key_path``, or under ``data_dir`` (created on first use)."""
        path, configured = cls.path_for(settings)
        return cls.load_or_create(path, create=not configured)

    @classmethod
    def existing(cls, settings: Settings) -> InstallationKey | None:
        """The installation's key if it exists and can be read here; never creates one."""
        path, _ = cls.path_for(settings)
        if not path.is_file():
            return None
        try:
            return cls.load_or_create(path, create=False)
        except SigningKeyError:
            return None

    @classmethod
    def load_or_create(cls, path: Path, *, create: bool = True) -> InstallationKey:
        """Load the key file; if it is missing and ``create`` is set, generate it (mode 0600)."""
        if not path.exists():
            if not create:
                raise SigningKeyError(f"evidence signing key {path} does not exist")
            _write_new_key(path)
        return cls(_read_private_key(path), path)

    def sign(self, data: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of ``data``."""
        return self._private.sign(data)


def _write_new_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    log.info("generated the evidence signing key %s", path)


def _read_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise SigningKeyError(f"cannot read the evidence signing key {path}: {exc.strerror or exc}") from None
    if mode & 0o077:
        log.warning("evidence signing key %s is readable by others (mode %o): chmod 600 it", path, mode)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} is not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
    return key
