"""The installation's signing key: made once with mode 0600, reused, fingerprint as openssl computes it."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from evidence.signing import (
    InstallationKey,
    SigningKeyError,
    load_public_key_pem,
    normalize_fingerprint,
    signature_is_valid,
)
from vms.config import EvidenceConfig, Settings


def test_the_key_is_made_on_first_use_private_to_its_owner_and_then_reused(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory()

    first = InstallationKey.for_settings(settings)
    again = InstallationKey.for_settings(settings)

    assert first.path == Path(settings.data_dir) / "evidence-signing.key"
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    assert again.fingerprint == first.fingerprint
    signature = first.sign("批次 YT-001".encode())
    assert len(signature) == 64
    public = load_public_key_pem(again.public_key_pem)
    assert signature_is_valid(public, signature, "批次 YT-001".encode())
    assert not signature_is_valid(public, signature, "批次 YT-002".encode())


def test_the_fingerprint_is_what_openssl_and_sha256sum_print(tmp_path: Path) -> None:
    key = InstallationKey.load_or_create(tmp_path / "k.pem")
    (tmp_path / "public_key.pem").write_bytes(key.public_key_pem)

    printed = subprocess.run(
        "openssl pkey -pubin -in public_key.pem -outform DER | sha256sum",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]

    assert printed == key.fingerprint
    grouped = "SHA256:" + ":".join(key.fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    assert normalize_fingerprint(grouped) == key.fingerprint


def test_a_configured_key_file_must_exist_and_be_an_ed25519_key(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    configured = tmp_path / "keys" / "signing.pem"
    if "signing_key_path" in EvidenceConfig.model_fields:
        settings = settings_factory(evidence={"signing_key_path": str(configured)})
    else:  # until the config key is added
        settings = settings_factory()
        settings.evidence.__dict__["signing_key_path"] = configured
    with pytest.raises(SigningKeyError, match="does not exist"):
        InstallationKey.for_settings(settings)

    configured.parent.mkdir()
    configured.write_text("not a key")
    with pytest.raises(SigningKeyError, match="not an unencrypted PEM private key"):
        InstallationKey.load_or_create(configured)

    rsa_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    configured.write_bytes(rsa_pem)
    with pytest.raises(SigningKeyError, match="not an Ed25519 private key"):
        InstallationKey.load_or_create(configured)
