#!/usr/bin/env bash
# The quick-start demo: a throwaway local etcd with sample data, snapshotted into ./backups (the local
# directory store), then listed. Everything it starts is stopped on exit.
set -euo pipefail
SERVICE=demo
source "$(dirname "${BASH_SOURCE[0]}")/services/lib.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

bash scripts/services/install.sh etcd
[[ -f dist/cli.js ]] || npm run --silent build

WORK=$(mktemp -d "${TMPDIR:-/tmp}/etcd-backup-demo.XXXXXX")
client_port=$(free_port)
peer_port=$(free_port)
endpoint=http://127.0.0.1:$client_port
cleanup() {
  stop_pidfiles TERM "$WORK/etcd-data" "$WORK/etcd.pid"
  rm -rf "$WORK"
}
trap cleanup EXIT

log "starting etcd on $endpoint"
etcd --name demo --data-dir "$WORK/etcd-data" \
  --listen-client-urls "$endpoint" --advertise-client-urls "$endpoint" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "demo=http://127.0.0.1:$peer_port" >"$WORK/etcd.log" 2>&1 &
echo $! >"$WORK/etcd.pid"
etcdctl_() { ETCDCTL_API=3 etcdctl --endpoints "$endpoint" "$@"; }
wait_until 20 'etcd to become healthy' etcdctl_ endpoint health || { tail_logs "$WORK/etcd.log"; exit 1; }

log 'writing sample data'
for i in $(seq 1 50); do etcdctl_ put "/demo/config/item-$i" "value $i" >/dev/null; done
etcdctl_ put /demo/large "$(head -c 20000 /dev/zero | tr '\0' x)" >/dev/null
etcdctl_ del /demo/config/item-1 >/dev/null

export BACKUP_URL="file://$ROOT/backups" CLUSTER_NAME=demo ETCD_ENDPOINTS=$endpoint LOG_LEVEL=${LOG_LEVEL:-warn}
echo
echo "\$ etcd-backup snapshot   # BACKUP_URL=$BACKUP_URL CLUSTER_NAME=demo"
node bin/etcd-backup.js snapshot
echo
echo '$ etcd-backup list'
node bin/etcd-backup.js list
