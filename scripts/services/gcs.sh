#!/usr/bin/env bash
# The Cloud Storage emulator from firebase-tools (test/services/gcs-emulator), serving the GCS JSON API.
#
#   gcs.sh start DIR   starts it on 127.0.0.1 (port: GCS_PORT or a free one), state under DIR; writes
#                      DIR/env (STORAGE_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT) and prints it on stdout.
#   gcs.sh stop DIR    stops it by its pid file.
set -euo pipefail
SERVICE=gcs
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAUNCHER=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../test/services/gcs-emulator" && pwd)/launch.mjs
# "demo-" project ids are Firebase's convention for projects that exist only in emulators.
PROJECT=demo-etcd-backup

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
(($# == 2)) || usage
cmd=$1
mkdir -p "$2"
DIR=$(cd "$2" && pwd)

stop() {
  stop_pidfiles TERM "$LAUNCHER" "$DIR/emulator.pid"
  rm -rf "$DIR/tmp" "$DIR/env"
}

ready() { grep -q '^ready ' "$DIR/emulator.log"; }
ready_or_gone() { ready || ! alive "$1"; }

start() {
  local port=${GCS_PORT:-$(free_port)} pid t0=$EPOCHREALTIME
  if port_open "$port"; then log "port $port is taken"; exit 1; fi
  stop # leftovers of an earlier run in the same DIR
  rm -f "$DIR/env" "$DIR/emulator.log" # a stale "ready" line must not pass for this start
  mkdir -p "$DIR/tmp"
  # TMPDIR: the emulator keeps uploads under $TMPDIR/firebase and deletes that dir when it stops.
  # setsid: a ctrl-c in the terminal must not kill it behind the back of whoever stops it.
  TMPDIR=$DIR/tmp setsid node "$LAUNCHER" "$port" "$PROJECT" >"$DIR/emulator.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$DIR/emulator.pid"
  if ! wait_until 30 "the emulator on port $port" ready_or_gone "$pid" || ! ready || ! alive "$pid"; then
    log "failed to start"
    tail_logs "$DIR/emulator.log"
    stop
    exit 1
  fi
  printf '%s\n' "STORAGE_EMULATOR_HOST=http://127.0.0.1:$port" "GOOGLE_CLOUD_PROJECT=$PROJECT" >"$DIR/env"
  log "ready on 127.0.0.1:$port in $(elapsed "$t0") s"
  cat "$DIR/env"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
