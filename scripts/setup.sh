#!/usr/bin/env bash
# Set up everything yard-vms needs on Debian 12: system packages and the Python virtual environment.
#
#   sudo bash scripts/setup.sh            # development / demo / tests (default)
#   sudo bash scripts/setup.sh --no-dev   # production node: no test tools, no browser
#
# Idempotent and quick on re-runs: apt is skipped when every package is already installed, and
# `pip install` is skipped when pyproject.toml (and the Python and mode) did not change since the
# last successful install (stamp file .venv/.yard-vms-setup-stamp).
#
# Environment:
#   VMS_SETUP_SKIP_APT=1   never touch apt (e.g. as a non-root user on a prepared machine)
#   VMS_SETUP_FORCE=1      reinstall the Python packages even if the stamp says they are current
#   PYTHON=/path/python3.11  the interpreter to build .venv with (default: python3.11, else python3)
set -Eeuo pipefail

if [ -t 2 ]; then B=$'\033[1;34m'; R=$'\033[1;31m'; N=$'\033[0m'; else B=; R=; N=; fi
log()  { printf '%s[setup]%s %s\n' "$B" "$N" "$*" >&2; }
die()  { printf '%s[setup] ERROR:%s %s\n' "$R" "$N" "$*" >&2; exit 1; }
trap 'printf "%s[setup] FAILED%s (exit %s) at line %s: %s\n" "$R" "$N" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

DEV=1
SKIP_APT="${VMS_SETUP_SKIP_APT:-0}"
FORCE="${VMS_SETUP_FORCE:-0}"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-dev)   DEV=0 ;;
    --dev)      DEV=1 ;;
    --skip-apt) SKIP_APT=1 ;;
    --force)    FORCE=1 ;;
    -h|--help)  usage; exit 0 ;;
    *)          usage; die "unknown option: $1" ;;
  esac
  shift
done

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
[ -f pyproject.toml ] || die "pyproject.toml not found in $REPO: run this script from a yard-vms checkout"

# Two setups at once (e.g. demo.sh and test.sh started together) would fight over apt and .venv.
# Commands below get `9>&-` so that no daemon they start (apt starts PostgreSQL) inherits the lock.
if command -v flock >/dev/null 2>&1; then
  if exec 9>"${TMPDIR:-/tmp}/yard-vms-setup-$(id -u).lock"; then
    flock -w 1800 9 || die "another scripts/setup.sh has held the lock for 30 minutes"
  else
    log "warning: cannot create the setup lock file; continuing without it"
  fi
fi

# ---------------------------------------------------------------------------------------------
# 1. System packages (Debian apt)
# ---------------------------------------------------------------------------------------------
APT_PACKAGES=(
  ca-certificates curl git
  python3 python3-venv            # Debian's python3 also runs the fake RTSP cameras (needs python3-gi)
  ffmpeg                          # ffprobe/ffmpeg for export and checks
  python3-gi gir1.2-gst-rtsp-server-1.0          # simulated RTSP cameras (demo, tests)
  gstreamer1.0-tools gstreamer1.0-libav gstreamer1.0-x
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  postgresql postgresql-client    # tests run a throwaway cluster; multi-node deployments share one
  fonts-wqy-microhei              # Chinese text in the browser / rendered exports
)
if [ "$DEV" = 1 ]; then
  APT_PACKAGES+=(chromium)        # browser tests (Playwright drives Debian's Chromium)
fi

missing_packages() {
  local pkg status
  for pkg in "${APT_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    [ "$status" = "installed" ] || printf '%s\n' "$pkg"
  done
}

if [ "$SKIP_APT" = 1 ]; then
  log "apt: skipped (VMS_SETUP_SKIP_APT=1 / --skip-apt)"
elif ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  die "this script needs Debian 12 (apt-get/dpkg-query not found). Install the packages listed in scripts/setup.sh by hand and re-run with --skip-apt."
else
  mapfile -t MISSING < <(missing_packages)
  if [ "${#MISSING[@]}" -eq 0 ]; then
    log "apt: all ${#APT_PACKAGES[@]} system packages already installed"
  else
    [ "$(id -u)" = 0 ] || die "these system packages are missing: ${MISSING[*]}
  run as root:  sudo bash scripts/setup.sh   (or install them yourself and pass --skip-apt)"
    log "apt: installing ${MISSING[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q 9>&- || die "apt-get update failed: check the network / the apt sources"
    apt-get install -y -q --no-install-recommends "${MISSING[@]}" 9>&- \
      || die "apt-get install failed for: ${MISSING[*]}"
    mapfile -t STILL < <(missing_packages)
    [ "${#STILL[@]}" -eq 0 ] || die "still not installed after apt-get: ${STILL[*]}"
    log "apt: done"
  fi
fi

# ---------------------------------------------------------------------------------------------
# 2. Python 3.11 virtual environment in .venv
# ---------------------------------------------------------------------------------------------
is_py311() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' >/dev/null 2>&1; }

if [ -n "${PYTHON:-}" ]; then
  PY="$PYTHON"
elif command -v python3.11 >/dev/null 2>&1 && is_py311 python3.11; then
  PY="python3.11"
elif command -v python3 >/dev/null 2>&1; then
  PY="python3"
else
  die "no python3 found: install Python 3.11 (apt-get install python3 python3-venv)"
fi
is_py311 "$PY" || die "$PY is not a working Python 3.11 (it reports: $("$PY" -c 'import platform; print(platform.python_version())' 2>&1 | tail -1)); yard-vms needs Python 3.11: install it or set PYTHON=/path/to/python3.11"

VENV="$REPO/.venv"
STAMP="$VENV/.yard-vms-setup-stamp"
if [ -x "$VENV/bin/python" ] && ! is_py311 "$VENV/bin/python"; then
  log "venv: $VENV is broken or not Python 3.11: recreating it"
  rm -rf "$VENV"
fi
if [ -x "$VENV/bin/python" ] && ! { [ -f "$STAMP" ] || "$VENV/bin/python" -m pip --version >/dev/null 2>&1; }; then
  log "venv: $VENV has no pip (an interrupted earlier run?): recreating it"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  log "venv: creating $VENV with $PY ($("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])'))"
  "$PY" -m venv "$VENV" 9>&- || {
    rm -rf "$VENV"
    die "could not create the virtual environment with $PY (on Debian: apt-get install python3-venv)"
  }
fi

MODE="dev"; EXTRAS="[dev]"
if [ "$DEV" = 0 ]; then MODE="prod"; EXTRAS=""; fi
WANT="$(
  {
    sha256sum pyproject.toml | cut -d' ' -f1
    "$VENV/bin/python" -c 'import sys; print(sys.version)'
    echo "$MODE"
  } | sha256sum | cut -d' ' -f1
)"
HAVE="$(cat "$STAMP" 2>/dev/null || true)"

if [ "$FORCE" != 1 ] && [ "$WANT" = "$HAVE" ] && [ -x "$VENV/bin/vms" ]; then
  log "python: packages current (pyproject.toml unchanged since the last install, mode $MODE)"
else
  log "python: pip install -e '.$EXTRAS' into $VENV (mode $MODE; first run takes a few minutes)"
  rm -f "$STAMP"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".$EXTRAS" 9>&- \
    || die "pip install -e '.$EXTRAS' failed (see the pip output above)"
  [ -x "$VENV/bin/vms" ] || die "pip install finished but $VENV/bin/vms is missing"
  echo "$WANT" > "$STAMP"
  log "python: done"
fi

log "ready: $("$VENV/bin/python" -c 'import sys; print("Python", sys.version.split()[0])') in $VENV (mode $MODE)"
