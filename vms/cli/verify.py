"""``vms verify PACKAGE.zip``: check an evidence package offline (exit 0 verified, 1 failed, 2 unreadable)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence.signing import InstallationKey, PublicKeyError, load_public_key_pem, normalize_fingerprint
from evidence.verify import Outcome, VerifyReport, verify_package
from vms.cli.context import CliContext
from vms.cli.errors import USAGE_EXIT
from vms.config import ConfigError


@click.command("verify")
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    "public_key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The installation's public key (PEM, from GET /api/evidence/public-key) to trust.",
)
@click.option(
    "--expect-fingerprint",
    metavar="FP",
    help="The installation key's SHA-256 fingerprint (hex) the package must be signed with.",
)
def verify(package: Path, public_key_path: Path | None, expect_fingerprint: str | None) -> None:
    """Check a signed evidence package offline; names the first file or field that fails.

    Exit 0: verified; 1: something failed (named); 2: not a readable package. Without --public-key or
    --expect-fingerprint, the key of the installation this command runs on is trusted if there is one;
    elsewhere only the key inside the package can be checked, and its fingerprint is printed to compare.
    """
    trusted = None
    if public_key_path is not None:
        try:
            trusted = load_public_key_pem(public_key_path.read_bytes())
        except OSError as exc:
            _usage(f"--public-key {public_key_path}: cannot be read ({exc.strerror or exc})")
        except PublicKeyError as exc:
            _usage(f"--public-key {public_key_path}: {exc}")
    if expect_fingerprint is not None and len(normalize_fingerprint(expect_fingerprint)) != 64:
        _usage("--expect-fingerprint: not a SHA-256 fingerprint (64 hex digits)")
    if trusted is None and expect_fingerprint is None:
        trusted = _this_installations_key()
    report = verify_package(package, trusted, expect_fingerprint)
    _print(package, report)
    sys.exit(report.exit_code)


def _this_installations_key() -> Ed25519PublicKey | None:
    """Run on a yard-vms node (its config readable), trust that installation's key."""
    context = click.get_current_context().find_object(CliContext)
    if context is None:
        return None
    try:
        key = InstallationKey.existing(context.settings)
    except ConfigError:
        return None
    if key is None:
        return None
    click.echo(
        f"Trusting this installation's signing key ({key.path}); to check another installation's "
        "package pass its --public-key or --expect-fingerprint"
    )
    return key.public_key


def _usage(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(USAGE_EXIT)


def _print(package: Path, report: VerifyReport) -> None:
    click.echo(f"Package:      {package}")
    if report.batch_number is not None:
        click.echo(f"Batch:        {report.batch_number}")
    if report.generated_at is not None:
        click.echo(f"Generated:    {report.generated_at}")
    if report.fingerprint is not None:
        click.echo(f"Signing key:  {report.fingerprint}")
    for line in report.passed:
        click.echo(f"  OK  {line}")
    for warning in report.warnings:
        click.echo(f"WARNING: {warning}", err=True)
    if report.outcome is Outcome.VERIFIED and report.warnings:
        click.echo("VERIFIED (signer not confirmed, see the warning): every file matches the signed manifest")
    elif report.outcome is Outcome.VERIFIED:
        click.echo("VERIFIED: every file matches the manifest signed by the installation's key")
    elif report.outcome is Outcome.FAILED:
        click.echo(f"FAILED: {report.problem}", err=True)
    else:
        click.echo(f"UNREADABLE: {report.problem}", err=True)
