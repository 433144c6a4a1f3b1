#!/usr/bin/env bash
# Installs what the benchmark needs beyond the test services (scripts/services/install.sh all): the AWS CLI
# (Debian's `awscli`, for the baseline `aws s3 cp`) and GNU time (`time`, for peak RSS). Skips what is
# there already; quiet on success, prints the tail of apt's output on failure.
#
# Always Debian's /usr/bin/aws: a pip-installed aws elsewhere on PATH may exist on one machine and not on
# the next, and would be a different baseline.
set -euo pipefail
SERVICE=bench-install
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/services/lib.sh"

want=(awscli time)
missing=()
for pkg in "${want[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == 'install ok installed' ]] || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

LOG=$(mktemp "${TMPDIR:-/tmp}/etcd-backup-bench-install.XXXXXX")
trap 'rm -f "$LOG"' EXIT
fail() {
  log "$1 failed; last lines of its output:"
  tail -n 40 "$LOG" >&2
  exit 1
}
t0=$EPOCHREALTIME
apt-get update >"$LOG" 2>&1 || fail 'apt-get update'
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 ||
  fail "apt-get install ${missing[*]}"
log "installed ${missing[*]} in $(elapsed "$t0") s"
