"""Offline verification of an evidence package: signatures, every file's SHA-256 and size, nothing missing or
added, SHA256SUMS, the segment hash chain records and the custody events' hashes.

Checks stop at the first failure, which the report names (a file in the package, or a field such as
``manifest.json: files[3].sha256``). Nothing here needs the network, the database or object storage.
"""

from __future__ import annotations

import enum
import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence.package_format import (
    CUSTODY_JSON,
    FILE_KINDS,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST,
    META_MEMBERS,
    PUBLIC_KEY,
    SHA256_RE,
    SIGNATURE,
    SUMS,
    SUMS_SIGNATURE,
    SumsFormatError,
    member_name_problem,
    parse_sums,
    segment_chain_hash,
)
from evidence.signing import (
    SIGNATURE_BYTES,
    PublicKeyError,
    fingerprint,
    load_public_key_pem,
    normalize_fingerprint,
    signature_is_valid,
)
from vms.audit import event_hash
from vms.audit.log import canonical_event

MAX_META_BYTES = 256 * 1024**2
_CHUNK = 1024 * 1024


class Outcome(enum.Enum):
    VERIFIED = 0
    FAILED = 1
    UNREADABLE = 2


@dataclass(slots=True)
class VerifyReport:
    """The verdict; ``problem`` names the first file or field that failed."""

    outcome: Outcome = Outcome.VERIFIED
    problem: str | None = None
    passed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fingerprint: str | None = None
    batch_number: str | None = None
    generated_at: str | None = None

    @property
    def exit_code(self) -> int:
        return self.outcome.value


class _Stop(Exception):
    def __init__(self, outcome: Outcome, problem: str) -> None:
        super().__init__(problem)
        self.outcome = outcome
        self.problem = problem


def _fail(problem: str) -> NoReturn:
    raise _Stop(Outcome.FAILED, problem)


def verify_package(
    path: Path | str,
    trusted_key: Ed25519PublicKey | None = None,
    expect_fingerprint: str | None = None,
) -> VerifyReport:
    """Check the package at ``path``; a trusted key or fingerprint proves who signed it."""
    report = VerifyReport()
    try:
        with _open_zip(Path(path)) as archive:
            _Verifier(archive, report, trusted_key, expect_fingerprint).run()
    except _Stop as stop:
        report.outcome, report.problem = stop.outcome, stop.problem
    return report


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise _Stop(Outcome.UNREADABLE, f"{path}: no such file")
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise _Stop(Outcome.UNREADABLE, f"{path}: not a readable ZIP archive ({exc})") from None
    except OSError as exc:
        raise _Stop(Outcome.UNREADABLE, f"{path}: cannot be read ({exc.strerror or exc})") from None


class _Verifier:
    def __init__(
        self,
        archive: zipfile.ZipFile,
        report: VerifyReport,
        trusted_key: Ed25519PublicKey | None,
        expect_fingerprint: str | None,
    ) -> None:
        self._zip = archive
        self._report = report
        self._trusted = trusted_key
        self._expected = normalize_fingerprint(expect_fingerprint) if expect_fingerprint else None
        self._members: dict[str, zipfile.ZipInfo] = {}

    def run(self) -> None:
        self._index_members()
        key = self._public_key()
        manifest_data = self._read(MANIFEST)
        self._signature(key, MANIFEST, SIGNATURE, manifest_data)
        self._trust(key)
        manifest = self._manifest(manifest_data, key)
        files = manifest["files"]
        self._member_set(files)
        self._signature(key, SUMS, SUMS_SIGNATURE, self._read(SUMS))
        for entry in files:
            self._file(entry)
        self._sums(files, manifest_data)
        self._segment_chains(files)
        self._custody(files)

    # ---- structure and signatures ----------------------------------------------------------------

    def _index_members(self) -> None:
        try:
            infos = self._zip.infolist()
        except zipfile.BadZipFile as exc:
            raise _Stop(Outcome.UNREADABLE, f"ZIP directory is damaged ({exc})") from None
        for info in infos:
            if info.is_dir():
                continue
            problem = member_name_problem(info.filename)
            if problem:
                _fail(f"{info.filename!r}: member name {problem}")
            if info.filename in self._members:
                _fail(f"{info.filename}: appears twice in the ZIP")
            self._members[info.filename] = info
        for name in META_MEMBERS:
            if name not in self._members:
                _fail(f"{name}: missing from the package")
        self._pass("ZIP structure: readable, no duplicate or unsafe names, all signature files present")

    def _public_key(self) -> Ed25519PublicKey:
        try:
            key = load_public_key_pem(self._read(PUBLIC_KEY))
        except PublicKeyError as exc:
            _fail(f"{PUBLIC_KEY}: {exc}")
        self._report.fingerprint = fingerprint(key)
        return key

    def _signature(self, key: Ed25519PublicKey, signed: str, sig_name: str, data: bytes) -> None:
        signature = self._read(sig_name)
        if len(signature) != SIGNATURE_BYTES:
            _fail(f"{sig_name}: not a raw {SIGNATURE_BYTES}-byte Ed25519 signature ({len(signature)} bytes)")
        if not signature_is_valid(key, signature, data):
            _fail(f"{signed}: its signature ({sig_name}) does not match: {signed} was altered")
        self._pass(f"{signed}: Ed25519 signature valid ({sig_name})")

    def _trust(self, key: Ed25519PublicKey) -> None:
        found = fingerprint(key)
        if self._trusted is not None:
            wanted = fingerprint(self._trusted)
            if found != wanted:
                _fail(
                    f"{PUBLIC_KEY}: the package is signed by a different key than the installation's "
                    f"(package key {found}, trusted key {wanted}): it was re-signed by someone else"
                )
            self._pass(f"signing key: the trusted installation key ({found})")
        if self._expected is not None:
            if found != self._expected:
                _fail(
                    f"{PUBLIC_KEY}: the package is signed by a different key than the installation's "
                    f"(fingerprint {found}, expected {self._expected}): it was re-signed by someone else"
                )
            self._pass(f"signing key: fingerprint matches the expected {found}")
        if self._trusted is None and self._expected is None:
            self._report.warnings.append(
                "the signature was checked only with the public key inside the package, which anyone could "
                f"replace: compare its fingerprint {found} with the one the installation publishes "
                "(GET /api/evidence/public-key), or pass --expect-fingerprint / --public-key"
            )

    # ---- manifest --------------------------------------------------------------------------------

    def _manifest(self, data: bytes, key: Ed25519PublicKey) -> dict[str, Any]:
        try:
            manifest = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            _fail(f"{MANIFEST}: not UTF-8 JSON ({exc})")
        if not isinstance(manifest, dict):
            _fail(f"{MANIFEST}: the top level is not an object")
        if manifest.get("format") != FORMAT_NAME:
            _fail(f"{MANIFEST}: format: expected {FORMAT_NAME!r}, found {manifest.get('format')!r}")
        version = manifest.get("format_version")
        if not isinstance(version, int) or version < 1:
            _fail(f"{MANIFEST}: format_version: not a positive integer ({version!r})")
        if version > FORMAT_VERSION:
            _fail(f"{MANIFEST}: format_version {version} is newer than this verifier ({FORMAT_VERSION})")
        signing = _field(manifest, "signing_key", dict)
        if signing.get("fingerprint") != fingerprint(key):
            _fail(f"{MANIFEST}: signing_key.fingerprint does not match {PUBLIC_KEY}")
        batch = _field(manifest, "batch", dict)
        self._report.batch_number = _field(batch, "number", str, "batch.number")
        generated = _field(manifest, "generated_at", dict)
        utc = _time(generated, "utc", "generated_at.utc")
        local = generated.get("local")
        self._report.generated_at = local if isinstance(local, str) else utc
        files = _field(manifest, "files", list)
        seen: set[str] = set()
        for i, entry in enumerate(files):
            self._file_entry(i, entry, seen)
        self._pass(f"{MANIFEST}: well-formed, {len(files)} files listed")
        return manifest

    def _file_entry(self, i: int, entry: Any, seen: set[str]) -> None:
        where = f"files[{i}]"
        if not isinstance(entry, dict):
            _fail(f"{MANIFEST}: {where}: not an object")
        path = _field(entry, "path", str, f"{where}.path")
        problem = member_name_problem(path)
        if problem or path in META_MEMBERS:
            _fail(f"{MANIFEST}: {where}.path: {path!r} {problem or 'names a signature file'}")
        if path in seen:
            _fail(f"{MANIFEST}: {where}.path: {path} is listed twice")
        seen.add(path)
        if not SHA256_RE.match(str(entry.get("sha256"))):
            _fail(f"{MANIFEST}: {where}.sha256: not a lowercase SHA-256 hex digest")
        size = entry.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            _fail(f"{MANIFEST}: {where}.size: not a byte count")
        if entry.get("kind") not in FILE_KINDS:
            _fail(f"{MANIFEST}: {where}.kind: unknown kind {entry.get('kind')!r}")
        _field(entry, "source", dict, f"{where}.source")

    def _member_set(self, files: list[dict[str, Any]]) -> None:
        listed = {f["path"] for f in files}
        for entry in files:
            if entry["path"] not in self._members:
                _fail(f"{entry['path']}: listed in the manifest but missing from the package")
        for name in self._members:
            if name not in listed and name not in META_MEMBERS:
                _fail(f"{name}: in the package but not listed in the manifest (added afterwards)")
        self._pass("files: none missing, none added")

    # ---- content ---------------------------------------------------------------------------------

    def _file(self, entry: dict[str, Any]) -> None:
        path = entry["path"]
        info = self._members[path]
        if info.file_size != entry["size"]:
            _fail(f"{path}: {info.file_size} bytes, the manifest says {entry['size']}: the file was altered")
        digest, size = self._hash(path)
        if size != entry["size"]:
            _fail(f"{path}: {size} bytes, the manifest says {entry['size']}: the file was altered")
        if digest != entry["sha256"]:
            _fail(f"{path}: SHA-256 {digest} does not match the manifest: the file was altered")
        self._pass(f"{path}: SHA-256 and size match ({size} bytes)")

    def _sums(self, files: list[dict[str, Any]], manifest_data: bytes) -> None:
        expected = {f["path"]: f["sha256"] for f in files}
        expected[MANIFEST] = hashlib.sha256(manifest_data).hexdigest()
        expected[SIGNATURE] = hashlib.sha256(self._read(SIGNATURE)).hexdigest()
        try:
            text = self._read(SUMS).decode("utf-8")
            lines = list(parse_sums(text))
        except (UnicodeDecodeError, SumsFormatError) as exc:
            _fail(f"{SUMS}: {exc}")
        listed: set[str] = set()
        for line in lines:
            want = expected.get(line.path)
            if want is None:
                _fail(f"{SUMS}: line {line.number}: {line.path} is not a file of the package")
            if line.sha256 != want:
                _fail(f"{SUMS}: line {line.number}: the hash of {line.path} differs from the package's")
            listed.add(line.path)
        for path in expected:
            if path not in listed:
                _fail(f"{SUMS}: {path} is not listed")
        self._pass(f"{SUMS}: consistent with the manifest ({len(lines)} lines)")

    def _segment_chains(self, files: list[dict[str, Any]]) -> None:
        count = 0
        for i, entry in enumerate(files):
            if entry["kind"] != "camera_clip":
                continue
            segments = _field(entry, "segments", list, f"files[{i}].segments")
            previous: dict[str, Any] | None = None
            for j, seg in enumerate(segments):
                where = f"{MANIFEST}: files[{i}].segments[{j}]"
                try:
                    computed = segment_chain_hash(seg)
                    ok = computed == seg["chain_hash"]
                    linked = previous is None or seg["seq"] != previous["seq"] + 1
                    linked = linked or seg["prev_chain_hash"] == previous["chain_hash"]  # type: ignore[index]
                except (KeyError, TypeError) as exc:
                    _fail(f"{where}: incomplete segment record ({exc})")
                if not ok:
                    _fail(f"{where} (segment {seg.get('id')}): chain_hash does not match its record")
                if not linked:
                    _fail(f"{where} (segment {seg.get('id')}): prev_chain_hash does not link to the previous")
                previous = seg
                count += 1
        self._pass(f"camera segments: {count} hash-chain records consistent")

    def _custody(self, files: list[dict[str, Any]]) -> None:
        if not any(f["path"] == CUSTODY_JSON for f in files):
            _fail(f"{CUSTODY_JSON}: missing from the manifest")
        try:
            document = json.loads(self._read(CUSTODY_JSON).decode("utf-8"))
            events = document["events"]
            for n, ev in enumerate(events):
                canonical = canonical_event(
                    ev["seq"],
                    datetime.fromisoformat(ev["at"]),
                    ev["actor"],
                    ev["action"],
                    ev["object_type"],
                    ev["object_id"],
                    ev["client"],
                    ev["detail"],
                )
                if event_hash(ev["prev_hash"], canonical) != ev["hash"]:
                    _fail(
                        f"{CUSTODY_JSON}: events[{n}] (audit seq {ev['seq']}): hash does not match the event"
                    )
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            _fail(f"{CUSTODY_JSON}: not a custody log ({type(exc).__name__}: {exc})")
        self._pass(f"{CUSTODY_JSON}: {len(events)} audit events, each matching its hash")

    # ---- reading ---------------------------------------------------------------------------------

    def _read(self, name: str) -> bytes:
        info = self._members[name]
        if info.file_size > MAX_META_BYTES:
            _fail(f"{name}: implausibly large ({info.file_size} bytes)")
        return b"".join(self._chunks(name))

    def _hash(self, name: str) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        for chunk in self._chunks(name):
            digest.update(chunk)
            size += len(chunk)
        return digest.hexdigest(), size

    def _chunks(self, name: str) -> Iterator[bytes]:
        try:
            with self._zip.open(name) as member:
                while chunk := member.read(_CHUNK):
                    yield chunk
        except zipfile.BadZipFile as exc:
            _fail(f"{name}: damaged or altered inside the ZIP ({exc})")
        # zipfile raises NotImplementedError for a compression method it does not know
        except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError) as exc:
            _fail(f"{name}: cannot be read from the ZIP ({exc})")
        except Exception as exc:  # zlib.error and friends: a damaged compressed member
            if isinstance(exc, _Stop):
                raise
            _fail(f"{name}: damaged or altered inside the ZIP ({type(exc).__name__}: {exc})")

    def _pass(self, line: str) -> None:
        self._report.passed.append(line)


_KIND_NAMES: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}


def _field(obj: dict[str, Any], name: str, kind: type, label: str | None = None) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind):
        _fail(f"{MANIFEST}: {label or name}: missing or not {_KIND_NAMES.get(kind, kind.__name__)}")
    return value


def _time(obj: dict[str, Any], name: str, label: str) -> str:
    value = _field(obj, name, str, label)
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"{MANIFEST}: {label}: not an ISO 8601 time ({value!r})")
    return str(value)
