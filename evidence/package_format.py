"""The evidence package format (version 1), shared by the builder and the offline verifier.

See docs/evidence-package.md. A package is a ZIP holding the content files (``README.txt``, ``cameras/``,
``bodycam/``, ``custody/``), then ``manifest.json`` (their SHA-256 and sizes, signed), ``manifest.sig``
(the raw 64-byte Ed25519 signature of manifest.json's bytes), ``public_key.pem``, ``SHA256SUMS`` (every
content file and the manifest, ``sha256sum -c`` format) and ``SHA256SUMS.sig`` (its signature), so that a
package can be checked with sha256sum and openssl alone.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

FORMAT_NAME = "yard-vms-evidence-package"
FORMAT_VERSION = 1

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
SUMS = "SHA256SUMS"
SUMS_SIGNATURE = "SHA256SUMS.sig"
README = "README.txt"
CUSTODY_JSON = "custody/custody.json"
CUSTODY_CSV = "custody/custody.csv"
META_MEMBERS = (MANIFEST, SIGNATURE, PUBLIC_KEY, SUMS, SUMS_SIGNATURE)
"""Members that are not listed in the manifest's ``files`` (they describe or protect it)."""

FILE_KINDS = frozenset({"readme", "camera_clip", "bodycam", "custody"})
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_SEGMENT_RECORD_FIELDS = (
    "camera_id",
    "stream",
    "seq",
    "start_at",
    "end_at",
    "clock_source",
    "bucket",
    "object_key",
    "size_bytes",
    "sha256",
    "salvaged",
)


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """Canonical UTF-8 JSON: sorted keys, two-space indent, Chinese as is, one trailing newline."""
    return (json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def time_pair(value: datetime | None, zone: tzinfo) -> dict[str, str] | None:
    """A time as ``{"utc": "...Z", "local": "...+08:00"}`` (None stays None)."""
    if value is None:
        return None
    utc = value.astimezone(UTC)
    return {
        "utc": utc.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "local": utc.astimezone(zone).isoformat(timespec="milliseconds"),
    }


def segment_iso(value: datetime) -> str:
    """A segment time exactly as the recorder's hash chain writes it."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def segment_chain_hash(segment: dict[str, Any]) -> str:
    """``sha256(prev_chain_hash + canonical record)`` of a segment entry of the manifest."""
    record = {name: segment[name] for name in _SEGMENT_RECORD_FIELDS}
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((str(segment["prev_chain_hash"]) + canonical).encode()).hexdigest()


def safe_file_name(name: str, limit: int = 100) -> str:
    """A file name that is safe in a ZIP and in SHA256SUMS: letters (any script), digits, ``.-_``."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    cleaned = "".join(ch if ch.isalnum() or ch in ".-_" else "_" for ch in base).strip("._") or "file"
    if len(cleaned) > limit:
        stem, dot, ext = cleaned.rpartition(".")
        cleaned = (stem[: limit - len(ext) - 1] + dot + ext) if dot and len(ext) < 10 else cleaned[:limit]
    return cleaned


def member_name_problem(name: str) -> str | None:
    """Why a ZIP member name is unacceptable in a package, or None."""
    if not name or name.startswith("/") or "\\" in name or ":" in name.split("/", 1)[0]:
        return "is not a relative path"
    if any(part in ("", ".", "..") for part in name.split("/")):
        return "has an empty, '.' or '..' path part"
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        return "contains control characters"
    return None


def sums_text(entries: list[tuple[str, str]]) -> str:
    """``sha256sum -c`` input: one ``<hex>  <path>`` line per (sha256, path)."""
    return "".join(f"{digest}  {path}\n" for digest, path in entries)


@dataclass(frozen=True, slots=True)
class SumsLine:
    number: int
    sha256: str
    path: str


class SumsFormatError(ValueError):
    """A line of SHA256SUMS is not in sha256sum's format."""


def parse_sums(text: str) -> Iterator[SumsLine]:
    """Lines of a SHA256SUMS file (text or ``*`` binary mode markers accepted)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line)
        if match is None:
            raise SumsFormatError(f"line {number} is not '<sha256>  <path>'")
        yield SumsLine(number, match.group(1).lower(), match.group(2))
