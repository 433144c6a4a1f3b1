#!/usr/bin/env bash
# Installs what the tests and the demo run against; skips whatever is already there.
#
#   install.sh etcd   etcd and etcdctl (enough for the demo)
#   install.sh all    also Ceph (mon, osd, radosgw), openssl, the Cloud Storage emulator and etcd 3.5
#                     (tests; etcd 3.5 lands in $ETCD35_DIR, default /var/cache/etcd-backup/etcd-3.5)
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

# etcd 3.5 beside the system's 3.4: bookworm packages 3.4 only; Debian's unstable (sid) and trixie suites
# package 3.5 (static binaries). apt fetches the newest 3.5 of the two .debs with its own sources, lists and
# cache beside the target, so the system's apt setup and installed packages stay as they are; dpkg -x
# unpacks them. Asking for a 3.5 by version keeps a later 3.6 in sid from replacing the release the suites
# name. The tests look in the same place (test/support/etcd.ts); ETCD35_DIR moves it for both.
if [[ $1 == all ]]; then
  etcd35=${ETCD35_DIR:-/var/cache/etcd-backup/etcd-3.5}
  if [[ ! -x $etcd35/usr/bin/etcdutl ]]; then
    t0=$EPOCHREALTIME
    apt_dir=$etcd35.apt
    rm -rf "$apt_dir" "$etcd35.new"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
    mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    printf 'deb %s sid main\ndeb %s trixie main\n' "$mirror" "$mirror" >"$apt_dir/sources.list"
    apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
      -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
    apt-get "${apt_opts[@]}" update >"$LOG" 2>&1 || fail 'apt-get update (sid, trixie)'
    # madison lists the newest version first.
    pkg_version=$(apt-cache "${apt_opts[@]}" madison etcd-server | awk -F '|' '{ gsub(/ /, "", $2) } $2 ~ /^3\.5\./ { print $2; exit }')
    [[ -n $pkg_version ]] || { apt-cache "${apt_opts[@]}" madison etcd-server >>"$LOG" 2>&1; fail 'finding an etcd 3.5 package'; }
    (cd "$apt_dir" && apt-get "${apt_opts[@]}" download "etcd-server=$pkg_version" "etcd-client=$pkg_version") >>"$LOG" 2>&1 ||
      fail "apt-get download etcd-server etcd-client $pkg_version"
    for deb in "$apt_dir"/etcd-*.deb; do dpkg -x "$deb" "$etcd35.new" >>"$LOG" 2>&1 || fail "dpkg -x $deb"; done
    version=$("$etcd35.new/usr/bin/etcd" --version 2>&1 | awk '/^etcd Version:/ { print $3 }')
    [[ $version == 3.5.* ]] || { echo "etcd --version says ${version:-nothing}" >>"$LOG"; fail 'etcd 3.5 version check'; }
    # Moved into place last, so an interrupted run leaves nothing that passes the check above.
    rm -rf "$etcd35"
    mv "$etcd35.new" "$etcd35"
    rm -rf "$apt_dir"
    log "installed etcd $version into $etcd35 in $(elapsed "$t0") s"
  fi
fi
