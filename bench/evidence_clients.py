"""The two uploaders of ``bench.evidence_upload``, each run in its own process so that its CPU and peak
RSS are its own:

    python -m bench.evidence_clients tus CONFIG.json      # the project's tus client (``vms upload``'s)
    python -m bench.evidence_clients minio CONFIG.json    # a plain ``minio`` client, fput_object

Each prints one JSON line: wall-clock marks (``time.time()``), CPU seconds (``os.times``) and peak RSS
(``ru_maxrss``) of the whole process, and what it uploaded.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def _peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def tus_upload(config: dict[str, Any]) -> dict[str, Any]:
    """``TusUploader.upload`` as ``vms upload`` runs it; marks: start, client hash done, first byte, done."""
    import evidence.tus_client as tus_client

    marks: dict[str, float] = {}
    file_sha256 = tus_client.file_sha256

    def timed_sha256(path: Path) -> str:
        marks["hash_start"] = time.time()
        digest = file_sha256(path)
        marks["hash_end"] = time.time()
        return digest

    tus_client.file_sha256 = timed_sha256  # _upload looks it up at call time

    def progress(_: int) -> None:
        # Called first with the offset the creation answered (0), just before the first PATCH.
        marks.setdefault("first_byte", time.time())

    uploader = tus_client.TusUploader(
        config["url"], {"Authorization": f"Bearer {config['token']}"}, chunk_size=int(config["chunk_size"])
    )
    cpu0 = _cpu_s()
    marks["start"] = time.time()
    result = uploader.upload(Path(config["path"]), config["batch"], progress)
    marks["done"] = time.time()
    uploader.close()
    return {
        "marks": marks,
        "outcome": result.outcome,
        "item_id": result.item_id,
        "message": result.message,
        "cpu_s": _cpu_s(),
        "upload_cpu_s": _cpu_s() - cpu0,
        "peak_rss_kb": _peak_rss_kb(),
    }


def minio_upload(config: dict[str, Any]) -> dict[str, Any]:
    """``Minio.fput_object`` with the client's defaults (part size chosen by the client, 3 parallel parts)."""
    from minio import Minio

    client = Minio(config["endpoint"], config["access_key"], config["secret_key"], secure=False)
    cpu0 = _cpu_s()
    marks = {"start": time.time()}
    result = client.fput_object(config["bucket"], config["key"], config["path"])
    marks["done"] = time.time()
    return {
        "marks": marks,
        "etag": result.etag,
        "cpu_s": _cpu_s(),
        "upload_cpu_s": _cpu_s() - cpu0,
        "peak_rss_kb": _peak_rss_kb(),
    }


def main(argv: list[str]) -> int:
    kind, path = argv
    config = json.loads(Path(path).read_text())
    runner = {"tus": tus_upload, "minio": minio_upload}[kind]
    print(json.dumps(runner(config)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
