"""``vms upload``: send body-cam files to a yard-vms server from a docking-station PC (tus, resumable)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import httpx

from evidence.tus_client import CHUNK_BYTES, TusUploader, UploadResult
from vms.cli.errors import CliFailure

_LABELS = {
    "uploaded": "上传成功 uploaded",
    "duplicate": "已存在 already there",
    "refused": "被拒绝 refused",
    "failed": "失败 failed",
}


@click.command("upload")
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
)
@click.option("--batch", required=True, help="inspection batch number the files belong to")
@click.option("--server", required=True, envvar="VMS_SERVER", help="server URL, e.g. https://vms.yard:8080")
@click.option("--user", help="username (asks for the password)")
@click.option("--token", envvar="VMS_TOKEN", help="session token instead of a password (or $VMS_TOKEN)")
@click.option("--api-key", envvar="VMS_API_KEY", help="API key instead of a user (or $VMS_API_KEY)")
@click.option(
    "--chunk-mb",
    default=CHUNK_BYTES // (1024 * 1024),
    show_default=True,
    type=click.IntRange(1, 1024),
    help="bytes sent per request, in MiB",
)
@click.option(
    "--retries",
    default=8,
    show_default=True,
    type=click.IntRange(0, 100),
    help="retries after a broken connection, with growing waits",
)
@click.option(
    "--backoff",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, 60),
    help="first wait before a retry, in seconds (doubles each time)",
)
def upload(
    files: tuple[Path, ...],
    batch: str,
    server: str,
    user: str | None,
    token: str | None,
    api_key: str | None,
    chunk_mb: int,
    retries: int,
    backoff: float,
) -> None:
    """Upload body-cam videos and photos to a batch; resumes after broken connections.

    Ends with a summary; the exit code is 1 if any file was not uploaded.
    """
    headers = _auth_headers(server, user, token, api_key)
    uploader = TusUploader(
        server, headers, chunk_size=chunk_mb * 1024 * 1024, retries=retries, backoff_s=backoff
    )
    results: list[UploadResult] = []
    try:
        for path in files:
            with click.progressbar(
                length=path.stat().st_size,
                label=path.name,
                file=sys.stderr,
                show_pos=True,
            ) as bar:
                results.append(uploader.upload(path, batch, bar.update))
    finally:
        uploader.close()
    _summary(results)
    if any(r.outcome in ("refused", "failed") for r in results):
        raise SystemExit(1)


def _auth_headers(server: str, user: str | None, token: str | None, api_key: str | None) -> dict[str, str]:
    if token:
        return {"Authorization": f"Bearer {token}"}
    if api_key:
        return {"X-API-Key": api_key}
    if not user:
        raise click.UsageError("give --user (asks for the password), --token / $VMS_TOKEN or --api-key")
    password = click.prompt(f"password for {user}", hide_input=True, err=True)
    try:
        response = httpx.post(
            server.rstrip("/") + "/api/auth/login", json={"username": user, "password": password}, timeout=30
        )
    except httpx.HTTPError as exc:
        raise CliFailure(f"cannot reach {server}: {exc}") from None
    if response.status_code != 200:
        raise CliFailure(f"login failed: {_detail(response)}")
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.status_code))
    except ValueError:
        return f"HTTP {response.status_code}"


def _summary(results: list[UploadResult]) -> None:
    for r in results:
        extra = f" item {r.item_id}" if r.item_id is not None else ""
        reason = f": {r.message}" if r.message else ""
        click.echo(f"{_LABELS[r.outcome]}  {r.path.name}{extra}{reason}")
    counts = {k: sum(r.outcome == k for r in results) for k in _LABELS}
    click.echo(
        f"uploaded {counts['uploaded']}, already there {counts['duplicate']}, "
        f"refused {counts['refused']}, failed {counts['failed']}"
    )
