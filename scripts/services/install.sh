#!/usr/bin/env bash
# Installs what the tests and the demo run against; skips whatever is already there.
#
#   install.sh etcd   etcd and etcdctl (enough for the demo)
#   install.sh all    also Ceph (mon, osd, radosgw), openssl and the Cloud Storage emulator (tests)
#   install.sh bench  the benchmark's baseline tools (awscli, GNU time)
#
# Quiet on success; on failure prints the tail of the installer's log.
set -euo pipefail
SERVICE=install
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

case ${1:-} in
  etcd) want=(etcd-server etcd-client) ;;
  all) want=(etcd-server etcd-client ceph-mon ceph-osd radosgw ceph-common openssl) ;;
  # The benchmark's baseline tools: Debian's AWS CLI (always /usr/bin/aws: a pip-installed aws elsewhere on
  # PATH may exist on one machine and not the next, and would be a different baseline) and GNU time.
  bench) want=(awscli time) ;;
  *) echo "usage: $0 etcd|all|bench" >&2; exit 2 ;;
esac

LOG=$(mktemp "${TMPDIR:-/tmp}/etcd-backup-install.XXXXXX")
trap 'rm -f "$LOG"' EXIT
fail() {
  log "$1 failed; last lines of its output:"
  tail -n 40 "$LOG" >&2
  exit 1
}

missing=()
for pkg in "${want[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == 'install ok installed' ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  t0=$EPOCHREALTIME
  # The packages ship init scripts (etcd on 2379, radosgw); without a policy that forbids it, dpkg
  # would start them with their default config. Tests start their own daemons on their own ports.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f "$LOG" /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update >"$LOG" 2>&1 || fail 'apt-get update'
  # Post-install scripts print systemd/invoke-rc.d complaints on machines without systemd: harmless.
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 ||
    fail "apt-get install ${missing[*]}"
  log "installed ${missing[*]} in $(elapsed "$t0") s"
fi

if [[ $1 == all ]]; then
  emulator=$ROOT/test/services/gcs-emulator
  # --ignore-scripts: nothing in firebase-tools needs its install scripts for the storage emulator.
  if [[ ! -d $emulator/node_modules/firebase-tools ]]; then
    t0=$EPOCHREALTIME
    npm ci --ignore-scripts --no-audit --no-fund --prefix "$emulator" >"$LOG" 2>&1 || fail 'npm ci (gcs emulator)'
    log "installed the Cloud Storage emulator (firebase-tools) in $(elapsed "$t0") s"
  fi
fi
