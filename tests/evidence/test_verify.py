"""``vms verify``: a good package verifies; an altered, added, removed or re-signed part is named."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence.package_format import manifest_bytes, sums_text
from evidence.signing import InstallationKey, fingerprint, public_key_pem
from evidence.verify import Outcome, verify_package
from tests.evidence.test_package import (
    build_package,
    build_yard_batch,
    make_core,
    shared_segment_files,
)
from vms.cli.main import cli as vms_main
from vms.cli.verify import verify
from vms.storage import EmbeddedSeaweed


@pytest.fixture(scope="session")
def segment_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return shared_segment_files(tmp_path_factory)


@dataclass(frozen=True)
class Built:
    path: Path
    key: InstallationKey
    clip: str
    bodycam: str


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, seaweed: EmbeddedSeaweed, segment_files: list[Path]
) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("verify")
    core = make_core(root / "data", seaweed.object_store())
    yard = build_yard_batch(core, segment_files)
    path = root / "package.zip"
    build_package(core, yard.batch_id, path)
    core.db.dispose()
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    yield Built(
        path,
        InstallationKey.for_settings(core.settings),
        next(n for n in names if n.startswith("cameras/")),
        next(n for n in names if n.startswith("bodycam/")),
    )


@pytest.fixture
def package(built: Built, tmp_path: Path) -> Path:
    """A fresh copy of the package the test may damage."""
    return Path(shutil.copy(built.path, tmp_path / "package.zip"))


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def rezip(path: Path, contents: dict[str, bytes]) -> Path:
    """Write ``contents`` as a well-formed ZIP (correct CRCs): an edit made on purpose, not damage."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data in contents.items():
            z.writestr(name, data)
    return path


def flip_byte_in_place(path: Path, member: str) -> None:
    """Flip one byte in the middle of a member's stored data, inside the ZIP file itself."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    with path.open("r+b") as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack("<HH", f.read(4))
        offset = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))


def resign(contents: dict[str, bytes], sign: Callable[[bytes], bytes]) -> dict[str, bytes]:
    """Sign manifest.json again, rebuild SHA256SUMS and sign it: what a forger (or a buggy generator) does."""
    contents["manifest.sig"] = sign(contents["manifest.json"])
    manifest = json.loads(contents["manifest.json"])
    entries = [(f["sha256"], f["path"]) for f in manifest["files"]]
    entries += [(sha256(contents[n]).hexdigest(), n) for n in ("manifest.json", "manifest.sig")]
    contents["SHA256SUMS"] = sums_text(entries).encode()
    contents["SHA256SUMS.sig"] = sign(contents["SHA256SUMS"])
    return contents


def cli(*args: str) -> Result:
    return CliRunner().invoke(verify, list(args))


# ---- a good package ------------------------------------------------------------------------------


def test_an_untouched_package_verifies(built: Built) -> None:
    result = cli(str(built.path), "--expect-fingerprint", built.key.fingerprint.upper())

    assert result.exit_code == 0, result.output
    assert "VERIFIED: every file matches the manifest signed by the installation's key" in result.output
    assert "WARNING" not in result.output
    assert f"OK  {built.clip}: SHA-256 and size match" in result.output
    assert f"Signing key:  {built.key.fingerprint}" in result.output


def test_without_a_trusted_key_it_verifies_but_warns_with_the_fingerprint(
    built: Built, tmp_path: Path
) -> None:
    result = cli(str(built.path))
    assert result.exit_code == 0 and "VERIFIED (signer not confirmed" in result.output
    assert "WARNING: the signature was checked only with the public key inside the package" in result.output
    assert built.key.fingerprint in result.output

    pem = tmp_path / "installation.pem"
    pem.write_bytes(built.key.public_key_pem)
    trusted = cli(str(built.path), "--public-key", str(pem))
    assert trusted.exit_code == 0 and "WARNING" not in trusted.output
    assert "OK  signing key: the trusted installation key" in trusted.output


# ---- damage and edits ----------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["clip", "bodycam", "custody/custody.json", "README.txt"])
def test_one_flipped_byte_in_any_file_fails_naming_it(built: Built, package: Path, which: str) -> None:
    member = {"clip": built.clip, "bodycam": built.bodycam}.get(which, which)
    flip_byte_in_place(package, member)

    result = cli(str(package))

    assert result.exit_code == 1
    assert f"FAILED: {member}: damaged or altered inside the ZIP" in result.output


def test_a_rewritten_file_with_a_valid_zip_fails_on_its_sha256(built: Built, package: Path) -> None:
    contents = members(package)
    data = bytearray(contents[built.bodycam])
    data[100] ^= 0xFF
    contents[built.bodycam] = bytes(data)
    rezip(package, contents)

    report = verify_package(package)

    assert report.outcome is Outcome.FAILED
    assert report.problem is not None
    assert (
        report.problem.startswith(f"{built.bodycam}: SHA-256 ")
        and "does not match the manifest" in report.problem
    )


def test_an_edited_manifest_fails_its_signature(package: Path) -> None:
    contents = members(package)
    contents["manifest.json"] = contents["manifest.json"].replace("冷冻带鱼".encode(), "新鲜带鱼".encode())
    rezip(package, contents)

    result = cli(str(package))

    assert result.exit_code == 1
    assert (
        "FAILED: manifest.json: its signature (manifest.sig) does not match: manifest.json was altered"
        in (result.output)
    )


def test_a_flipped_byte_in_the_manifest_fails(package: Path) -> None:
    flip_byte_in_place(package, "manifest.json")
    result = cli(str(package))
    assert result.exit_code == 1 and "FAILED: manifest.json:" in result.output


def test_re_signed_by_another_key_fails_against_the_installation_key(built: Built, package: Path) -> None:
    contents = members(package)
    manifest = json.loads(contents["manifest.json"])
    manifest["batch"]["goods"] = "新鲜带鱼"
    forger = Ed25519PrivateKey.generate()
    contents["public_key.pem"] = public_key_pem(forger.public_key())
    contents["manifest.json"] = manifest_bytes(manifest)
    rezip(package, resign(contents, forger.sign))
    pem = package.parent / "installation.pem"
    pem.write_bytes(built.key.public_key_pem)

    by_fingerprint = cli(str(package), "--expect-fingerprint", built.key.fingerprint)
    by_key = cli(str(package), "--public-key", str(pem))
    careless = cli(str(package))

    for result in (by_fingerprint, by_key):
        assert result.exit_code == 1
        assert "FAILED: public_key.pem: the package is signed by a different key than the installation's" in (
            result.output
        )
    # the forger left the installation's fingerprint in the manifest
    assert careless.exit_code == 1
    assert "FAILED: manifest.json: signing_key.fingerprint does not match public_key.pem" in careless.output

    manifest["signing_key"]["fingerprint"] = fingerprint(forger.public_key())
    contents["manifest.json"] = manifest_bytes(manifest)
    rezip(package, resign(contents, forger.sign))
    careful = cli(str(package))

    # without a trusted key a careful forgery is self-consistent: only the fingerprint shown can tell
    assert careful.exit_code == 0 and "WARNING" in careful.output
    assert fingerprint(forger.public_key()) in careful.output and built.key.fingerprint not in careful.output


def test_added_and_removed_files_are_named(built: Built, package: Path) -> None:
    contents = members(package)
    rezip(package, {**contents, "bodycam/extra.jpg": b"planted"})
    assert verify_package(package).problem == (
        "bodycam/extra.jpg: in the package but not listed in the manifest (added afterwards)"
    )
    del contents[built.clip]
    rezip(package, contents)
    assert (
        verify_package(package).problem
        == f"{built.clip}: listed in the manifest but missing from the package"
    )


def test_an_edited_sha256sums_fails_its_signature(built: Built, package: Path) -> None:
    contents = members(package)
    contents["SHA256SUMS"] = contents["SHA256SUMS"].replace(b"  README.txt", b"  README.TXT")
    rezip(package, contents)
    assert verify_package(package).problem == (
        "SHA256SUMS: its signature (SHA256SUMS.sig) does not match: SHA256SUMS was altered"
    )


def test_a_malformed_manifest_field_is_named_even_when_properly_signed(built: Built, package: Path) -> None:
    """A buggy or foreign generator: the signature holds, the field that is wrong is named."""
    contents = members(package)
    manifest = json.loads(contents["manifest.json"])
    manifest["files"][2]["sha256"] = "not-a-hash"
    contents["manifest.json"] = manifest_bytes(manifest)
    rezip(package, resign(contents, built.key.sign))

    result = cli(str(package), "--expect-fingerprint", built.key.fingerprint)

    assert result.exit_code == 1
    assert "FAILED: manifest.json: files[2].sha256: not a lowercase SHA-256 hex digest" in result.output


def test_a_segment_record_that_does_not_match_its_chain_hash_is_named(built: Built, package: Path) -> None:
    contents = members(package)
    manifest = json.loads(contents["manifest.json"])
    clip_index = next(i for i, f in enumerate(manifest["files"]) if f["kind"] == "camera_clip")
    manifest["files"][clip_index]["segments"][1]["end_at"] = "2025-03-01T00:00:09.000000Z"
    contents["manifest.json"] = manifest_bytes(manifest)
    rezip(package, resign(contents, built.key.sign))

    problem = verify_package(package, expect_fingerprint=built.key.fingerprint).problem

    assert problem is not None
    assert problem.startswith(f"manifest.json: files[{clip_index}].segments[1] (segment ")
    assert problem.endswith("chain_hash does not match its record")


# ---- not a package -------------------------------------------------------------------------------


def test_things_that_are_not_packages(built: Built, tmp_path: Path) -> None:
    text = tmp_path / "notes.zip"
    text.write_text("这不是压缩包")
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(built.path.read_bytes()[: built.path.stat().st_size // 2])
    other_zip = rezip(tmp_path / "other.zip", {"report.docx": b"hello"})

    for path in (text, truncated, tmp_path / "missing.zip"):
        result = cli(str(path))
        assert result.exit_code == 2, result.output
        assert "UNREADABLE:" in result.output and "Traceback" not in result.output
    foreign = cli(str(other_zip))
    assert foreign.exit_code == 1 and "FAILED: manifest.json: missing from the package" in foreign.output
    bad_key = cli(str(built.path), "--public-key", str(text))
    assert (
        bad_key.exit_code == 2
        and "--public-key" in bad_key.output
        and "not a PEM public key" in bad_key.output
    )
    bad_fp = cli(str(built.path), "--expect-fingerprint", "abc")
    assert bad_fp.exit_code == 2 and "64 hex digits" in bad_fp.output


def test_on_the_installation_itself_its_own_key_is_trusted(built: Built, package: Path) -> None:
    config = package.parent / "vms.yaml"
    assert built.key.path is not None
    config.write_text(f"data_dir: {built.key.path.parent}\n", encoding="utf-8")
    contents = members(package)
    forger = Ed25519PrivateKey.generate()
    manifest = json.loads(contents["manifest.json"])
    manifest["signing_key"]["fingerprint"] = fingerprint(forger.public_key())
    contents["manifest.json"] = manifest_bytes(manifest)
    contents["public_key.pem"] = public_key_pem(forger.public_key())
    forged = rezip(package.parent / "forged.zip", resign(contents, forger.sign))

    if "verify" not in vms_main.commands:  # until the assembly registers it
        vms_main.add_command(verify)
    genuine = CliRunner().invoke(vms_main, ["--config", str(config), "verify", str(built.path)])
    fake = CliRunner().invoke(vms_main, ["--config", str(config), "verify", str(forged)])

    assert genuine.exit_code == 0, genuine.output
    assert "Trusting this installation's signing key" in genuine.output and "WARNING" not in genuine.output
    assert fake.exit_code == 1
    assert "signed by a different key than the installation's" in fake.output
