#!/usr/bin/env bash
# Set everything up (scripts/setup.sh), then run the checks: ruff (lint and format), mypy, pytest.
#
#   sudo bash scripts/test.sh                 # everything, as CI does (.ci/run)
#   sudo bash scripts/test.sh -k recorder -x  # extra arguments go to pytest
#
# All three checks run even if an earlier one fails; the exit status is non-zero if any failed.
# pytest finding no tests at all (its exit status 5) counts as a failure.
# Environment: VMS_TEST_TIMEOUT (seconds per test, default 300), VMS_SETUP_SKIP_APT=1 (see setup.sh).
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

bash scripts/setup.sh

if [ -t 1 ]; then B=$'\033[1;34m'; R=$'\033[1;31m'; G=$'\033[1;32m'; N=$'\033[0m'; else B=; R=; G=; N=; fi
step() { printf '\n%s[test] ==> %s%s\n' "$B" "$*" "$N"; }

export PYTHONDONTWRITEBYTECODE=1
PY="$REPO/.venv/bin/python"
FAILED=()
declare -A SECONDS_TAKEN=()

run_step() {  # run_step NAME COMMAND...
  local name="$1" start rc=0
  shift
  step "$name: $*"
  start=$SECONDS
  "$@" || rc=$?
  SECONDS_TAKEN[$name]=$((SECONDS - start))
  if [ "$rc" -ne 0 ]; then
    FAILED+=("$name (exit $rc)")
    printf '%s[test] %s failed (exit %s)%s\n' "$R" "$name" "$rc" "$N"
  fi
  return 0
}

run_step ruff "$PY" -m ruff check .
run_step ruff-format "$PY" -m ruff format --check .
run_step mypy "$PY" -m mypy
step "pytest"
start=$SECONDS
rc=0
"$PY" -m pytest -p no:cacheprovider --durations=15 --timeout="${VMS_TEST_TIMEOUT:-300}" -ra "$@" || rc=$?
SECONDS_TAKEN[pytest]=$((SECONDS - start))
case "$rc" in
  0) ;;
  5) FAILED+=("pytest (exit 5: no tests were collected)") ;;
  *) FAILED+=("pytest (exit $rc)") ;;
esac

printf '\n[test] durations: ruff %ss, ruff format %ss, mypy %ss, pytest %ss\n' \
  "${SECONDS_TAKEN[ruff]}" "${SECONDS_TAKEN[ruff-format]}" "${SECONDS_TAKEN[mypy]}" "${SECONDS_TAKEN[pytest]}"
if [ "${#FAILED[@]}" -gt 0 ]; then
  printf '%s[test] FAILED:%s\n' "$R" "$N"
  printf '  - %s\n' "${FAILED[@]}"
  exit 1
fi
printf '%s[test] all checks passed%s\n' "$G" "$N"
