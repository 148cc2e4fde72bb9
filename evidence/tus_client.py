"""A tus 1.0 client for the evidence upload API, for docking-station PCs with unreliable links.

It sends the file's SHA-256 with the upload, streams chunks from disk (never the whole file in memory),
and after a broken connection or a server error waits (exponential backoff), asks the server where the
upload stands (HEAD) and continues from there.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from evidence.tus import DUPLICATE_HEADER, ITEM_HEADER, OFFSET_CONTENT_TYPE, TUS_VERSION, encode_metadata

UPLOADS_PATH = "/api/evidence/uploads"
CHUNK_BYTES = 64 * 1024 * 1024
"""Bytes sent per PATCH. The server keeps every byte it received even when a request breaks off, so a
chunk's size costs nothing on a bad link; each request costs a round trip and a database write."""
_READ = 1024 * 1024

Outcome = Literal["uploaded", "duplicate", "refused", "failed"]


@dataclass(frozen=True)
class UploadResult:
    path: Path
    outcome: Outcome
    item_id: int | None = None
    message: str = ""


class UploadFailed(Exception):
    """The upload cannot go on; ``refused`` when the server will not take this file at all."""

    def __init__(self, message: str, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


def file_sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1024 * 1024):
            hasher.update(block)
    return hasher.hexdigest()


class TusUploader:
    """Uploads files to one server with one set of credentials."""

    def __init__(
        self,
        server: str,
        auth_headers: dict[str, str],
        *,
        chunk_size: int = CHUNK_BYTES,
        retries: int = 8,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        timeout_s: float = 600.0,
    ) -> None:
        self.server = server.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.chunk_size = chunk_size
        self._http = httpx.Client(
            headers={**auth_headers, "Tus-Resumable": TUS_VERSION},
            timeout=httpx.Timeout(timeout_s, connect=10.0),
        )

    def close(self) -> None:
        self._http.close()

    def upload(
        self, path: Path, batch: str, progress: Callable[[int], None] = lambda _: None
    ) -> UploadResult:
        """Upload one file to the batch; never raises for a failed upload (see ``outcome``)."""
        try:
            return self._upload(path, batch, progress)
        except UploadFailed as exc:
            return UploadResult(path, "refused" if exc.refused else "failed", message=str(exc))
        except OSError as exc:
            return UploadResult(path, "failed", message=f"cannot read the file: {exc.strerror or exc}")

    def _upload(self, path: Path, batch: str, progress: Callable[[int], None]) -> UploadResult:
        length = path.stat().st_size
        sha256 = file_sha256(path)
        metadata = encode_metadata({"filename": path.name, "batch": batch, "sha256": sha256})
        created = self._retrying(
            lambda: self._http.post(
                self.server + UPLOADS_PATH,
                headers={"Upload-Length": str(length), "Upload-Metadata": metadata},
            ),
            expect=(201,),
        )
        location = created.headers.get("location", "")
        url = location if location.startswith("http") else self.server + location
        offset = int(created.headers.get("upload-offset", "0"))
        shown = _Progress(progress)
        shown.at(offset)
        attempt = 0
        while True:
            if ITEM_HEADER.lower() in created.headers:
                return self._done(path, created)
            try:
                created = self._patch(url, path, offset, length, shown)
                offset = int(created.headers["upload-offset"])
                shown.at(offset)
                attempt = 0
            except (httpx.TransportError, _Retry) as exc:
                attempt += 1
                if attempt > self.retries:
                    raise UploadFailed(f"gave up after {self.retries} retries: {exc}") from None
                self._sleep(attempt)
                now = self._retrying(lambda: self._http.head(url), expect=(200,))
                offset = int(now.headers["upload-offset"])
                shown.at(offset)  # back to what the server has
                created = now

    def _patch(self, url: str, path: Path, offset: int, length: int, shown: _Progress) -> httpx.Response:
        size = min(self.chunk_size, length - offset)
        response = self._http.patch(
            url,
            content=_read_span(path, offset, size, shown),
            headers={
                "Upload-Offset": str(offset),
                "Content-Type": OFFSET_CONTENT_TYPE,
                "Content-Length": str(size),
            },
        )
        if response.status_code == 204:
            return response
        if response.status_code == 409 or response.status_code >= 500 or response.status_code == 460:
            raise _Retry(f"server answered {response.status_code}: {_detail(response)}")
        raise UploadFailed(_detail(response), refused=response.status_code in (413, 415, 422))

    def _done(self, path: Path, response: httpx.Response) -> UploadResult:
        duplicate = response.headers.get(DUPLICATE_HEADER.lower()) == "true"
        return UploadResult(
            path, "duplicate" if duplicate else "uploaded", int(response.headers[ITEM_HEADER.lower()])
        )

    def _retrying(self, send: Callable[[], httpx.Response], expect: tuple[int, ...]) -> httpx.Response:
        for attempt in range(self.retries + 1):
            try:
                response = send()
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise UploadFailed(f"cannot reach {self.server}: {exc}") from None
                self._sleep(attempt + 1)
                continue
            if response.status_code in expect:
                return response
            if response.status_code < 500 or attempt == self.retries:
                raise UploadFailed(_detail(response), refused=response.status_code in (403, 404, 413, 422))
            self._sleep(attempt + 1)
        raise UploadFailed("unreachable")  # pragma: no cover

    def _sleep(self, attempt: int) -> None:
        time.sleep(min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1)))


class _Retry(Exception):
    """A PATCH answer worth retrying after asking where the upload stands."""


class _Progress:
    """Tells the progress callback how far the upload stands: bytes handed to the connection while a
    request is sent, the server's offset once it answers."""

    def __init__(self, callback: Callable[[int], None]) -> None:
        self._callback = callback
        self._shown = 0

    def at(self, position: int) -> None:
        if position != self._shown:
            self._callback(position - self._shown)
            self._shown = position


def _read_span(path: Path, offset: int, size: int, shown: _Progress) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(offset)
        remaining = size
        while remaining > 0:
            block = f.read(min(_READ, remaining))
            if not block:
                return
            remaining -= len(block)
            yield block
            shown.at(offset + size - remaining)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return f"HTTP {response.status_code}"
