#!/usr/bin/env bash
# Set everything up (scripts/setup.sh), then run the whole system with simulated cameras: `vms demo`.
# It prints the URL to open and the demo login. Stop it with Ctrl-C.
#
#   sudo bash scripts/demo.sh              # extra arguments go to `vms demo` (see: .venv/bin/vms demo --help)
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

bash scripts/setup.sh

echo "[demo] starting: .venv/bin/vms demo $*" >&2
exec "$REPO/.venv/bin/vms" demo "$@"
