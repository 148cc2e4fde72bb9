"""Receiving a big request body through the API's HTTP protocol against uvicorn's stock httptools protocol.

    .venv/bin/python -m bench.http_body [--size-gb 2] [--runs 3]

Each run starts, for each variant in turn (alternating which goes first), a uvicorn server process on
127.0.0.1 whose ASGI app only counts the body bytes it receives, and sends it one ``--size-gb`` GiB body
from this process over one socket (16 MiB ``sendall`` calls, as fast as the server takes them). Measured:
the server process's CPU seconds (``/proc``) and the wall time from the first byte to the answer.

* ``stock``: ``uvicorn.Config(app, http="httptools")``, what serving a FastAPI app with uvicorn gives.
* ``pass-through``: ``vms.api.http_protocol.uvicorn_config(app)``, as the yard-vms node serves its API.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench.procstat import machine_description, process_sample

VARIANTS = ("stock", "pass-through")
_BLOCK = 16 * 1024 * 1024


async def _counting_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    answer = str(size).encode()
    headers = [(b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


def serve(variant: str, port: int) -> None:
    """The server process: the counting app with the variant's protocol."""
    import uvicorn

    from vms.api.http_protocol import uvicorn_config

    options: dict[str, Any] = {"host": "127.0.0.1", "port": port, "lifespan": "off", "log_level": "warning"}
    if variant == "pass-through":  # as the node serves its API (the allocator tuned too)
        config = uvicorn_config(_counting_app, **options)  # type: ignore[arg-type]
    else:
        config = uvicorn.Config(_counting_app, http="httptools", **options)
    uvicorn.Server(config).run()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def measure(variant: str, size: int) -> dict[str, Any]:
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.http_body", "--serve", variant, str(port)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=60)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the {variant} server did not start") from None
                time.sleep(0.05)
        block = os.urandom(_BLOCK)
        with conn:
            before = process_sample(server.pid)
            assert before is not None
            start = time.perf_counter()
            conn.sendall(f"PATCH /upload HTTP/1.1\r\nHost: bench\r\nContent-Length: {size}\r\n\r\n".encode())
            sent = 0
            while sent < size:
                piece = block[: min(_BLOCK, size - sent)]
                conn.sendall(piece)
                sent += len(piece)
            answer = b""
            while not answer.endswith(str(size).encode()):
                data = conn.recv(4096)
                if not data:
                    raise RuntimeError(f"the {variant} server closed the connection: {answer!r}")
                answer += data
            wall = time.perf_counter() - start
            after = process_sample(server.pid)
            assert after is not None
        return {
            "variant": variant,
            "server_cpu_s": round(after.cpu_s - before.cpu_s, 2),
            "wall_s": round(wall, 2),
        }
    finally:
        server.terminate()
        server.wait(10)


def run_benchmark(size_gb: float, runs: int) -> dict[str, Any]:
    size = int(size_gb * 1024**3)
    results: list[dict[str, Any]] = []
    for number in range(1, runs + 1):
        order = VARIANTS if number % 2 else tuple(reversed(VARIANTS))
        for variant in order:
            results.append({"run": number, **measure(variant, size)})
    medians = {
        v: statistics.median(r["server_cpu_s"] for r in results if r["variant"] == v) for v in VARIANTS
    }
    return {
        "machine": machine_description(),
        "bytes": size,
        "results": results,
        "median_server_cpu_s": medians,
    }


def markdown_table(report: dict[str, Any]) -> str:
    lines = ["| run | variant | server CPU-s | wall s |", "|---|---|---:|---:|"]
    for r in report["results"]:
        lines.append(f"| {r['run']} | {r['variant']} | {r['server_cpu_s']} | {r['wall_s']} |")
    for variant, cpu in report["median_server_cpu_s"].items():
        lines.append(f"| median | {variant} | **{cpu}** | |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-gb", type=float, default=2.0, help="body size in GiB")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve", nargs=2, metavar=("VARIANT", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return 0
    report = run_benchmark(args.size_gb, args.runs)
    print(f"{report['bytes']} bytes per body; {report['machine']}")
    print(markdown_table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
